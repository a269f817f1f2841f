// Checkpoint of a container through its OCI runtime: the driver behind
// `gpucr checkpoint CONTAINER` and the runtime wrapper's `checkpoint` (cli/wrapper.cpp).
// gpucr resolves the container through the runtime's state, discovers its process tree, does
// the GPU and freezer steps of a process tree (core/gpu_checkpoint.hpp: a paused container is
// thawed for the GPU calls and paused again afterwards), and lets `<runtime> checkpoint` do the
// dump (the runtime handles rootfs, mounts, namespaces and cgroups; runc freezes the cgroup
// itself while criu dumps, harmless once the GPU state is checkpointed). gpucr's manifest (with
// a Container record and the CUDA records) goes into the image directory, "cuda_plugin" into
// its inventory.
#pragma once

#include "core/container_host.hpp"
#include "core/cuda_process.hpp"
#include "core/phases.hpp"
#include "runtime/argv.hpp"
#include "runtime/cgroup.hpp"
#include "util/file.hpp"
#include "manifest.pb.h"

#include <optional>

namespace gpucr {

struct ContainerCheckpointOptions {
  runtime::CheckpointArgs args;                      // id, --image-path, --work-path, flags
  // The wrapper's case: the engine's arguments from "checkpoint" on, run exactly as given.
  // Otherwise gpucr builds them from `args` (runtime::checkpoint_argv).
  std::optional<std::vector<std::string>> verbatim;
  fs::path cwd;                                      // for relative/default image paths
  std::chrono::milliseconds lock_wait{60000};
  CudaOptions cuda;                                  // backend, --gpu-lock-timeout, --force
};

struct ContainerCheckpointReport {
  Status status;
  std::vector<PhaseTiming> phases;
  pb::Manifest manifest;                             // complete on success
  fs::path image_dir;
  fs::path work_dir;
  std::uint64_t image_bytes = 0;
  std::optional<ExitStatus> runtime_exit;            // set once the runtime's checkpoint ran
  std::vector<std::string> cuda_report;              // one line per CUDA process
};

ContainerCheckpointReport checkpoint_container(const ContainerCheckpointOptions& opts, ContainerHost& host);

}  // namespace gpucr
