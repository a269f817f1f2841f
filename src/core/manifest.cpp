#include "core/manifest.hpp"

#include "version.hpp"

#include <zlib.h>

#include <cerrno>
#include <cstring>
#include <sys/stat.h>
#include <sys/utsname.h>

#include <chrono>

namespace gpucr {

namespace {
constexpr char kMagic[8] = {'G', 'P', 'U', 'C', 'R', 'M', 'A', 'N'};
constexpr size_t kHeader = 8 + 4 + 4 + 4;

void put_le32(std::string& out, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
std::uint32_t le32(std::string_view b, size_t at) {
  std::uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = v << 8 | static_cast<unsigned char>(b[at + static_cast<size_t>(i)]);
  return v;
}
std::uint32_t crc(std::string_view data) {
  return static_cast<std::uint32_t>(
      ::crc32(0L, reinterpret_cast<const Bytef*>(data.data()), static_cast<uInt>(data.size())));
}
}  // namespace

std::string encode_manifest(const pb::Manifest& m) {
  std::string payload = m.SerializeAsString();
  std::string out(kMagic, sizeof kMagic);
  put_le32(out, kManifestFormat);
  put_le32(out, static_cast<std::uint32_t>(payload.size()));
  put_le32(out, crc(payload));
  return out + payload;
}

Result<pb::Manifest> decode_manifest(std::string_view bytes, const std::string& name) {
  auto bad = [&](const std::string& why) {
    return fail(Error(name + " is not a valid gpucr manifest: " + why, Exit::bad_input)
                    .with_hint("the image directory is damaged; checkpoint again or use an intact copy"));
  };
  if (bytes.size() < kHeader) return bad("truncated header (" + std::to_string(bytes.size()) + " bytes)");
  if (std::memcmp(bytes.data(), kMagic, sizeof kMagic) != 0) return bad("wrong magic");
  std::uint32_t version = le32(bytes, 8);
  if (version == 0 || version > kManifestFormat) {
    return fail(Error(name + " has manifest format " + std::to_string(version) + "; this gpucr reads formats 1.." +
                          std::to_string(kManifestFormat),
                      Exit::bad_input)
                    .with_hint("use the gpucr version that wrote this checkpoint, or a newer one"));
  }
  std::uint32_t length = le32(bytes, 12);
  std::string_view payload = bytes.substr(kHeader);
  if (payload.size() != length) {
    return bad("payload is " + std::to_string(payload.size()) + " bytes, header says " + std::to_string(length));
  }
  if (crc(payload) != le32(bytes, 16)) return bad("checksum mismatch");
  pb::Manifest m;
  if (!m.ParseFromArray(payload.data(), static_cast<int>(payload.size()))) return bad("payload does not parse");
  return m;
}

Result<std::optional<pb::Manifest>> read_manifest(const fs::path& image_dir) {
  fs::path p = image_dir / kManifestFile;
  struct stat st {};
  if (::lstat(p.c_str(), &st) != 0 && errno == ENOENT) return std::optional<pb::Manifest>();
  auto bytes = read_untrusted(p, {.max_bytes = 16ull << 20});
  if (!bytes) return fail(std::move(bytes).error().with_exit(Exit::bad_input));
  return std::optional<pb::Manifest>(GPUCR_TRY(decode_manifest(*bytes, p.string())));
}

Status write_manifest(const fs::path& image_dir, const pb::Manifest& m) {
  return write_file_atomic(image_dir / kManifestFile, encode_manifest(m), 0600);
}

void fill_manifest_header(pb::Manifest& m, const std::string& criu_version) {
  m.set_gpucr_version(kVersion);
  m.set_criu_version(criu_version);
  struct utsname u {};
  if (::uname(&u) == 0) {
    m.set_hostname(u.nodename);
    m.set_kernel(u.release);
  }
  m.set_created_unix_ms(std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count());
}

}  // namespace gpucr
