#include "criu/image.hpp"

#include <cstring>

namespace gpucr::criu {

namespace {
std::uint32_t le32(std::string_view b, size_t at) {
  auto u = [&](size_t i) { return static_cast<std::uint32_t>(static_cast<unsigned char>(b[at + i])); };
  return u(0) | u(1) << 8 | u(2) << 16 | u(3) << 24;
}
void put_le32(std::string& out, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
std::string hex(std::uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08x", v);
  return buf;
}
Error corrupt(const std::string& name, const std::string& why) {
  return Error(name + " is not a valid CRIU image: " + why, Exit::bad_input)
      .with_hint("the image directory is damaged or incomplete; checkpoint again or use an intact copy");
}
}  // namespace

Result<std::vector<std::string>> split_entries(std::string_view bytes, ImageMagic magic,
                                               const std::string& name) {
  size_t pos = 0;
  for (std::uint32_t want : {magic.prefix, magic.magic}) {
    if (want == 0) continue;
    if (bytes.size() < pos + 4) return fail(corrupt(name, "truncated magic"));
    std::uint32_t got = le32(bytes, pos);
    if (got != want) return fail(corrupt(name, "magic " + hex(got) + ", expected " + hex(want)));
    pos += 4;
  }
  std::vector<std::string> entries;
  while (pos < bytes.size()) {
    if (bytes.size() - pos < 4) return fail(corrupt(name, "truncated entry length at byte " + std::to_string(pos)));
    std::uint32_t len = le32(bytes, pos);
    pos += 4;
    if (len > bytes.size() - pos) {
      return fail(corrupt(name, "entry at byte " + std::to_string(pos - 4) + " claims " + std::to_string(len) +
                                    " bytes, only " + std::to_string(bytes.size() - pos) + " left"));
    }
    entries.emplace_back(bytes.substr(pos, len));
    pos += len;
  }
  return entries;
}

std::string join_entries(ImageMagic magic, const std::vector<std::string>& entries) {
  std::string out;
  if (magic.prefix) put_le32(out, magic.prefix);
  put_le32(out, magic.magic);
  for (const auto& e : entries) {
    put_le32(out, static_cast<std::uint32_t>(e.size()));
    out += e;
  }
  return out;
}

Result<std::vector<std::string>> read_entries(const fs::path& path, ImageMagic magic) {
  auto bytes = read_untrusted(path, {.max_bytes = kMaxImageBytes});
  if (!bytes) return fail(std::move(bytes).error().with_exit(Exit::bad_input));
  return split_entries(*bytes, magic, path.string());
}

}  // namespace gpucr::criu
