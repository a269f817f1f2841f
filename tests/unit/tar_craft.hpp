// Hand-built tar streams for the archive tests: ustar headers written here, byte by byte, so a
// test can make exactly the hostile member it needs (links, devices, setuid bits, "..", absolute
// names, sizes beyond ustar's 8 GiB in GNU base-256, truncation anywhere) with no writer
// sanitizing it. The archive module's own index format comes from archive/index.hpp.
#pragma once

#include "archive/index.hpp"

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

namespace gpucr::fakes {

struct TarMember {
  std::string name;
  char type = '0';          // '0' file, '5' dir, '2' symlink, '1' hard link, '3' char dev, '4' block dev, '6' fifo
  std::string data;
  unsigned mode = 0600;
  std::string link;         // symlink target or hard link name
  std::uint64_t size = UINT64_MAX;  // header size when not data.size() (a lie, or a huge one)
};

// `n - 1` octal digits and a NUL (values that fit: the caller's business).
inline void octal_field(char* f, size_t n, std::uint64_t v) {
  for (size_t i = n - 1; i-- > 0; v >>= 3) f[i] = static_cast<char>('0' + (v & 7));
  f[n - 1] = '\0';
}

inline std::string tar_header(const TarMember& m) {
  char h[512] = {};
  std::memcpy(h, m.name.data(), std::min<size_t>(m.name.size(), 100));
  octal_field(h + 100, 8, m.mode);
  octal_field(h + 108, 8, 0);
  octal_field(h + 116, 8, 0);
  std::uint64_t size = m.size != UINT64_MAX ? m.size : m.data.size();
  if (size < (1ull << 33)) {
    octal_field(h + 124, 12, size);
  } else {  // GNU base-256
    h[124] = static_cast<char>(0x80);
    for (int i = 0; i < 8; ++i) h[135 - i] = static_cast<char>((size >> (8 * i)) & 0xff);
  }
  octal_field(h + 136, 12, 1700000000);
  h[156] = m.type;
  std::memcpy(h + 157, m.link.data(), std::min<size_t>(m.link.size(), 100));
  std::memcpy(h + 257, "ustar", 6);
  std::memcpy(h + 263, "00", 2);
  std::memset(h + 148, ' ', 8);
  unsigned sum = 0;
  for (unsigned char c : h) sum += c;
  std::snprintf(h + 148, 8, "%06o", sum);
  return std::string(h, 512);
}

inline std::string tar_member(const TarMember& m) {
  std::string out = tar_header(m) + m.data;
  out.append((512 - m.data.size() % 512) % 512, '\0');
  return out;
}

inline std::string tar_end() { return std::string(1024, '\0'); }

inline std::string tar(const std::vector<TarMember>& members, bool end = true) {
  std::string out;
  for (const auto& m : members) out += tar_member(m);
  return end ? out + tar_end() : out;
}

// The index member listing `members` (their names, kinds, sizes and CRCs) as gpucr writes it.
inline TarMember index_for(const std::vector<TarMember>& members) {
  archive::Index idx;
  for (const auto& m : members) {
    archive::IndexEntry e;
    e.name = m.name;
    e.kind = m.type == '5' ? archive::Kind::dir : archive::Kind::file;
    e.size = m.size != UINT64_MAX ? m.size : m.data.size();
    e.crc = e.kind == archive::Kind::dir ? 0 : archive::crc32_of(0, m.data.data(), m.data.size());
    idx.entries.push_back(e);
  }
  return {archive::kIndexName, '0', archive::encode_index(idx)};
}

// A well-formed gpucr archive: the index, then `members`.
inline std::string gpucr_tar(const std::vector<TarMember>& members, bool end = true) {
  std::vector<TarMember> all{index_for(members)};
  all.insert(all.end(), members.begin(), members.end());
  return tar(all, end);
}

}  // namespace gpucr::fakes
