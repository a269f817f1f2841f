// Restore of a checkpointed process tree: the driver behind `gpucr restore`.
#pragma once

#include "core/cuda_process.hpp"
#include "core/host.hpp"
#include "core/phases.hpp"
#include "criu/args.hpp"
#include "criu/plugins.hpp"
#include "util/file.hpp"
#include "manifest.pb.h"

#include <optional>

namespace gpucr {

struct RestoreOptions {
  fs::path image_dir;
  std::optional<fs::path> work_dir;          // default: the image directory
  std::optional<fs::path> pid_file;          // written with the restored root's host pid
  criu::CommonFlags criu_flags;              // or-ed with the flags the checkpoint used
  std::chrono::milliseconds pid_wait{10000}; // how long dumped pids may stay in use
  CudaOptions cuda;
  std::optional<std::string> device_map;     // --device-map OLD=NEW[,...]
  // Freeze the restored tree's cgroup again when it was frozen at checkpoint (after the GPU
  // restore). Off by default: a restored tree runs.
  bool restore_frozen = false;
  AmdOptions amd;                            // --criu-plugins-dir, --amd-skip-check, --amd-max-buffer
};

struct RestoreReport {
  Status status;
  std::vector<PhaseTiming> phases;
  std::optional<pb::Manifest> manifest;      // absent for images not written by gpucr
  pid_t root_pid = 0;                        // host pid of the restored root; a child of gpucr
  fs::path criu_log;
  std::vector<std::string> cuda_report;      // one line per CUDA process
  std::optional<criu::PluginPlan> plugins;   // what the inventory's plugins field asked for
  bool refrozen = false;                     // --restore-frozen froze the restored tree's cgroup
};

RestoreReport restore(const RestoreOptions& opts, Host& host);

// Waits for the restored root (a child of this process) to end, forwarding SIGINT, SIGTERM and
// SIGHUP to it, and returns its exit status.
ExitStatus wait_for_tree(pid_t root);

}  // namespace gpucr
