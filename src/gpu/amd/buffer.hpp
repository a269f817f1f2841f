// Sizing the amdgpu plugin's bounce buffers on restore (KFD_MAX_BUFFER_SIZE).
//
// The plugin copies every VRAM/GTT buffer object of a process through one host buffer per GPU,
// as large as the largest such object on that GPU unless KFD_MAX_BUFFER_SIZE caps it; tasks are
// restored concurrently, so in the worst case every (process, GPU) buffer exists at once. gpucr
// knows the objects from the plugin's own images (amdgpu-kfd-N.img, images.hpp). Decision:
//   1. --amd-max-buffer SIZE: used as given;
//   2. KFD_MAX_BUFFER_SIZE already in gpucr's environment: left alone (criu inherits it);
//   3. else, when the sum of the largest objects exceeds half of MemAvailable, each buffer is
//      capped at that half divided by the number of buffers (rounded down to MiB, at least 1 MiB);
//   4. else nothing is set (the plugin's default: the largest object).
#pragma once

#include "gpu/amd/images.hpp"

#include <optional>
#include <string>

namespace gpucr::amd {

struct BufferPlan {
  std::optional<std::uint64_t> max_buffer;  // bytes for KFD_MAX_BUFFER_SIZE; nullopt: not set
  std::string why;                          // one line for the log and `inspect`
  std::uint64_t needed = 0;                 // sum of the largest objects (bytes)
  std::optional<std::uint64_t> available;   // MemAvailable (bytes)
};

BufferPlan plan_buffers(const std::vector<BufferStats>& stats, std::optional<std::uint64_t> user,
                        const char* env_value, std::optional<std::uint64_t> mem_available);

// MemAvailable of a /proc/meminfo text, in bytes.
std::optional<std::uint64_t> mem_available(std::string_view meminfo);

}  // namespace gpucr::amd
