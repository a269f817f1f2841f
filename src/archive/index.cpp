#include "archive/index.hpp"

#include "util/file.hpp"
#include "util/strings.hpp"

#include <zlib.h>

#include <cstdio>
#include <set>

namespace gpucr::archive {

namespace {

constexpr std::string_view kHeader = "gpucr-index 1\n";

Result<std::uint64_t> parse_size_field(std::string_view s) {
  if (s.empty() || s.size() > 20) return fail(Error("bad size '" + std::string(s) + "'"));
  std::uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return fail(Error("bad size '" + std::string(s) + "'"));
    std::uint64_t next = v * 10 + static_cast<std::uint64_t>(c - '0');
    if (next / 10 != v) return fail(Error("size '" + std::string(s) + "' overflows"));
    v = next;
  }
  return v;
}

Result<std::uint32_t> parse_crc(std::string_view s) {
  if (s.size() != 8) return fail(Error("bad CRC '" + std::string(s) + "'"));
  std::uint32_t v = 0;
  for (char c : s) {
    int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    if (d < 0) return fail(Error("bad CRC '" + std::string(s) + "'"));
    v = v << 4 | static_cast<std::uint32_t>(d);
  }
  return v;
}

Result<IndexEntry> parse_entry(std::string_view line) {
  auto f = split(line, ' ');
  if (f.size() != 4 || (f[0] != "d" && f[0] != "f")) {
    return fail(Error("malformed line '" + std::string(line.substr(0, 80)) + "'"));
  }
  IndexEntry e;
  e.kind = f[0] == "d" ? Kind::dir : Kind::file;
  e.size = GPUCR_TRY(parse_size_field(f[1]));
  e.crc = GPUCR_TRY(parse_crc(f[2]));
  e.name = f[3];
  if (!valid_member_name(e.name, e.kind)) {
    return fail(Error("unsafe or unexpected member name '" + e.name.substr(0, 80) + "'"));
  }
  if (e.kind == Kind::dir && (e.size != 0 || e.crc != 0)) return fail(Error("directory " + e.name + " has data"));
  return e;
}

}  // namespace

std::uint64_t Index::file_bytes() const {
  std::uint64_t n = 0;
  for (const auto& e : entries) n += e.size;
  return n;
}

const IndexEntry* Index::find(std::string_view name) const {
  for (const auto& e : entries) {
    if (e.name == name) return &e;
  }
  return nullptr;
}

bool valid_member_name(std::string_view name, Kind kind) {
  if (kind == Kind::dir) return name == kCheckpointDir;
  std::string_view prefix = kCheckpointDir;
  if (name.substr(0, prefix.size()) == prefix) name.remove_prefix(prefix.size());
  return is_safe_name(name) && name != kIndexName;
}

std::string_view image_file_name(std::string_view member) {
  std::string_view prefix = kCheckpointDir;
  return member.substr(0, prefix.size()) == prefix ? member.substr(prefix.size()) : std::string_view();
}

std::uint32_t crc32_of(std::uint32_t crc, const void* data, size_t n) {
  const auto* p = static_cast<const Bytef*>(data);
  uLong c = crc;
  while (n > 0) {  // zlib takes uInt lengths
    uInt chunk = n > (1u << 30) ? (1u << 30) : static_cast<uInt>(n);
    c = ::crc32(c, p, chunk);
    p += chunk;
    n -= chunk;
  }
  return static_cast<std::uint32_t>(c);
}

std::string crc_hex(std::uint32_t crc) {
  char buf[9];
  std::snprintf(buf, sizeof buf, "%08x", crc);
  return buf;
}

std::string encode_index(const Index& index) {
  std::string out(kHeader);
  for (const auto& e : index.entries) {
    out += (e.kind == Kind::dir ? "d " : "f ") + std::to_string(e.size) + " " + crc_hex(e.crc) + " " + e.name + "\n";
  }
  out += "end " + std::to_string(index.entries.size()) + " " + crc_hex(crc32_of(0, out.data(), out.size())) + "\n";
  return out;
}

Result<Index> decode_index(std::string_view text, const std::string& what) {
  auto bad = [&](const std::string& why) {
    return fail(Error(what + ": its index (" + std::string(kIndexName) + ") is invalid: " + why, Exit::bad_input)
                    .with_hint("the archive is damaged or was not written by gpucr; nothing was extracted"));
  };
  if (text.substr(0, kHeader.size()) != kHeader) return bad("it does not start with '" + std::string(trim(kHeader)) + "'");
  size_t end_at = text.rfind("\nend ");
  if (end_at == std::string_view::npos || text.empty() || text.back() != '\n') return bad("it has no end line");
  std::string_view body = text.substr(0, end_at + 1);
  auto end_fields = split(trim(text.substr(end_at + 1)), ' ');
  if (end_fields.size() != 3 || end_fields[0] != "end") return bad("malformed end line");
  auto crc = parse_crc(end_fields[2]);
  if (!crc || *crc != crc32_of(0, body.data(), body.size())) return bad("checksum mismatch");
  Index index;
  std::set<std::string> seen;
  bool dir_seen = false;
  std::string_view lines = body.substr(kHeader.size());
  while (!lines.empty()) {
    size_t nl = lines.find('\n');
    auto e = parse_entry(lines.substr(0, nl));
    if (!e) return bad(e.error().what);
    lines.remove_prefix(nl + 1);
    if (!seen.insert(e->name).second) return bad("'" + e->name + "' is listed twice");
    if (e->kind == Kind::dir) dir_seen = true;
    if (e->kind == Kind::file && !image_file_name(e->name).empty() && !dir_seen) {
      return bad("'" + e->name + "' comes before its directory " + kCheckpointDir);
    }
    if (index.entries.size() >= kMaxEntries) return bad("more than " + std::to_string(kMaxEntries) + " entries");
    index.entries.push_back(std::move(*e));
  }
  if (end_fields[1] != std::to_string(index.entries.size())) {
    return bad("the end line counts " + end_fields[1] + " entries, the index lists " +
               std::to_string(index.entries.size()));
  }
  return index;
}

}  // namespace gpucr::archive
