// What CRIU's amdgpu plugin wrote into the image directory: amdgpu-kfd-N.img, one per process
// and KFD file (format: proto/criu_amdgpu.proto). gpucr reads the buffer objects (to size the
// plugin's bounce buffers on restore) and the topology the plugin recorded.
#pragma once

#include "util/file.hpp"
#include "criu_amdgpu.pb.h"

#include <vector>

namespace gpucr::amd {

struct KfdImage {
  std::uint32_t id = 0;       // N of amdgpu-kfd-N.img
  criu::CriuKfd kfd;
};

// Flags of buffers the plugin copies through its bounce buffer (KFD_IOC_ALLOC_MEM_FLAGS_*).
inline constexpr std::uint32_t kAllocVram = 1u << 0;
inline constexpr std::uint32_t kAllocGtt = 1u << 1;

// Every amdgpu-kfd-N.img of `image_dir`, by N; none is not an error.
Result<std::vector<KfdImage>> read_kfd_images(const fs::path& image_dir);
// Parses one file's bytes (`name` for messages).
Result<criu::CriuKfd> parse_kfd_image(std::string_view bytes, const std::string& name);
// The file's bytes for `kfd` (tests write images with it).
std::string serialize_kfd_image(const criu::CriuKfd& kfd);

// VRAM and GTT buffer objects of one process on one GPU.
struct BufferStats {
  std::uint32_t image_id = 0;
  std::uint32_t pid = 0;
  std::uint32_t gpu_id = 0;
  std::uint32_t count = 0;
  std::uint64_t total_bytes = 0;
  std::uint64_t largest_bytes = 0;
};
std::vector<BufferStats> buffer_stats(const std::vector<KfdImage>& images);

}  // namespace gpucr::amd
