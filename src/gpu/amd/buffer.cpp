#include "gpu/amd/buffer.hpp"

#include "util/strings.hpp"

#include <algorithm>
#include <cstdlib>

namespace gpucr::amd {

std::optional<std::uint64_t> mem_available(std::string_view meminfo) {
  for (const auto& line : split(meminfo, '\n')) {
    auto f = split_ws(line);
    if (f.size() >= 2 && f[0] == "MemAvailable:") return std::strtoull(f[1].c_str(), nullptr, 10) * 1024;
  }
  return std::nullopt;
}

BufferPlan plan_buffers(const std::vector<BufferStats>& stats, std::optional<std::uint64_t> user,
                        const char* env_value, std::optional<std::uint64_t> available) {
  BufferPlan p;
  p.available = available;
  for (const auto& s : stats) p.needed += s.largest_bytes;
  if (user) {
    p.max_buffer = user;
    p.why = "--amd-max-buffer " + format_bytes(*user);
    return p;
  }
  if (env_value && *env_value) {
    p.why = std::string("KFD_MAX_BUFFER_SIZE=") + env_value + " from the environment";
    return p;
  }
  if (stats.empty() || !available) {
    p.why = stats.empty() ? "no VRAM/GTT buffers recorded" : "MemAvailable unknown: plugin default";
    return p;
  }
  std::uint64_t budget = *available / 2;
  if (p.needed <= budget) {
    p.why = "largest buffers (" + format_bytes(p.needed) + " at once) fit in half of MemAvailable (" +
            format_bytes(*available) + "): plugin default";
    return p;
  }
  constexpr std::uint64_t kMiB = 1ull << 20;
  std::uint64_t each = std::max<std::uint64_t>(budget / stats.size() / kMiB * kMiB, kMiB);
  p.max_buffer = each;
  p.why = "largest buffers need " + format_bytes(p.needed) + " at once, MemAvailable is " + format_bytes(*available) +
          ": capping each of " + std::to_string(stats.size()) + " bounce buffers at " + format_bytes(each);
  return p;
}

}  // namespace gpucr::amd
