// The demo's built-in workload (`gpucr __demo-workload`): a small process tree that holds
// patterned memory, counts, and checks its memory at every step, so that a checkpoint and
// restore can be verified from outside.
//
// Status file DIR/status, rewritten atomically about every 100 ms, one line:
//   counter=N child=M corrupt=C pid=P bytes=B gpu_bytes=G
// counter: the parent's step count; child: steps its child acknowledged over a pipe;
// corrupt: words found wrong so far, host and device, plus device-counter mismatches (must stay
// 0); pid: the parent's pid; bytes: host memory checked each step; gpu_bytes: device memory
// checked each step (0 for the CPU workload). With a GPU the parent also keeps a counter in
// device memory, bumped by a kernel each step and compared with its own.
#pragma once

#include "util/result.hpp"

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <optional>

namespace gpucr::demo {

struct WorkloadStatus {
  std::uint64_t counter = 0;
  std::uint64_t child = 0;
  std::uint64_t corrupt = 0;
  pid_t pid = 0;
  std::uint64_t bytes = 0;
  std::uint64_t gpu_bytes = 0;
};

// Runs the workload in this process (does not return unless it fails to start). With
// gpu_mib > 0 the parent holds that much patterned device memory on GPU 0.
int run_workload(const std::filesystem::path& dir, unsigned mib, unsigned gpu_mib);

std::optional<WorkloadStatus> read_status(const std::filesystem::path& dir);
std::optional<WorkloadStatus> parse_status(std::string_view line);

}  // namespace gpucr::demo
