// Checkpoint of a process tree: the driver behind `gpucr checkpoint`.
#pragma once

#include "core/cuda_process.hpp"
#include "core/host.hpp"
#include "core/phases.hpp"
#include "criu/args.hpp"
#include "util/file.hpp"
#include "manifest.pb.h"

#include <optional>

namespace gpucr {

struct CheckpointOptions {
  pid_t pid = 0;
  fs::path image_dir;
  std::optional<fs::path> work_dir;  // default: the image directory
  bool leave_running = false;
  std::optional<int> timeout_s;      // criu --timeout
  criu::CommonFlags criu_flags;      // --tcp-established, --shell-job, --ext-unix-sk, --file-locks,
                                     // --manage-cgroups-mode
  CudaOptions cuda;
  // criu --freeze-cgroup: criu freezes this cgroup to seize the tree. gpucr adds the tree's own
  // cgroup when that is frozen (ptrace alone can't seize frozen tasks) and drops it when it had
  // to thaw the tree for GPU work (interrupt-only mode).
  std::optional<fs::path> freeze_cgroup;
  AmdOptions amd;                    // --criu-plugins-dir
};

struct CheckpointReport {
  Status status;                     // ok, or the first failure (cleanup failures in details)
  std::vector<PhaseTiming> phases;
  pb::Manifest manifest;             // complete on success
  fs::path image_dir;
  fs::path criu_log;
  std::uint64_t image_bytes = 0;
  std::vector<std::string> cuda_report;  // one line per CUDA process: what happened to it
  std::vector<std::string> criu_plugins;  // the CRIU plugins criu ran with (for the inventory)
};

CheckpointReport checkpoint(const CheckpointOptions& opts, Host& host);

// Phase-timing records for the manifest.
void record_phases(const std::vector<PhaseTiming>& phases,
                   google::protobuf::RepeatedPtrField<pb::Phase>* out);

}  // namespace gpucr
