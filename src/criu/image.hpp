// CRIU image file framing (see docs/FORMATS.md):
//
//   image    = magic entry*            (inventory.img: its own magic only)
//   magic    = u32le [u32le]           (common 0x54564319 or service 0x55105940, then the image's)
//   entry    = u32le length, `length` bytes of a serialized protobuf message
//
// Readers here return the raw entries; callers parse them with the messages in proto/.
#pragma once

#include "util/file.hpp"
#include "util/result.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace gpucr::criu {

inline constexpr std::uint32_t kMagicInventory = 0x58313116;
inline constexpr std::uint32_t kMagicCommon = 0x54564319;
inline constexpr std::uint32_t kMagicService = 0x55105940;
inline constexpr std::uint32_t kMagicPstree = 0x50273030;
inline constexpr std::uint32_t kMagicStats = 0x57093306;

// The largest metadata image gpucr reads (inventory, pstree, stats): a bound, so that an image
// directory someone crafted cannot make gpucr read without end (a link to /dev/zero).
inline constexpr std::uint64_t kMaxImageBytes = 64ull << 20;

struct ImageMagic {
  std::uint32_t prefix = 0;  // 0 for inventory.img, else kMagicCommon or kMagicService
  std::uint32_t magic = 0;
};

// Splits `bytes` (the content of `name`) into entries after checking the magic.
Result<std::vector<std::string>> split_entries(std::string_view bytes, ImageMagic magic,
                                               const std::string& name);

// Frames `entries` after `magic`.
std::string join_entries(ImageMagic magic, const std::vector<std::string>& entries);

Result<std::vector<std::string>> read_entries(const fs::path& path, ImageMagic magic);

}  // namespace gpucr::criu
