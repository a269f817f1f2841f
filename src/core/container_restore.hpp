// Restore of a container through its OCI runtime: the driver behind
// `gpucr restore CONTAINER` and the runtime wrapper's `restore` (cli/wrapper.cpp).
// `<runtime> restore` re-creates the container (rootfs, mounts, namespaces, cgroups); gpucr
// checks the GPU handlers and GPUs first (core/gpu_restore.hpp), gives the runtime the image
// view when criu must not see "cuda_plugin" (--image-path rewritten to the view, a hard-link
// subdirectory of the image dir), and afterwards finds the processes' new host pids through
// NSpid (inside the container's pid namespace they keep their pids; on the host they get new
// ones) and restores and unlocks the CUDA processes in parallel. All or nothing: when the GPU
// restore fails the restored container is killed and deleted (the images stay).
#pragma once

#include "core/container_host.hpp"
#include "core/cuda_process.hpp"
#include "core/phases.hpp"
#include "runtime/argv.hpp"
#include "util/file.hpp"
#include "manifest.pb.h"

#include <memory>
#include <optional>

namespace gpucr {

struct ContainerRestoreOptions {
  runtime::RestoreArgs args;                         // id, --bundle, --image-path, --detach, ...
  std::optional<std::vector<std::string>> verbatim;  // the wrapper's case, as for checkpoint
  fs::path cwd;                                      // for relative/default paths
  std::chrono::milliseconds lock_wait{60000};
  std::chrono::milliseconds start_wait{300000};      // foreground: how long the restore may take
  CudaOptions cuda;
  std::optional<std::string> device_map;             // --device-map OLD=NEW[,...]
  // Pause the restored container again when it was paused at checkpoint (after the GPU
  // restore). Off by default: engines resume a container they paused for the checkpoint.
  bool restore_frozen = false;
};

struct RestoredProcess {
  pid_t old_pid = 0;   // host pid at checkpoint
  pid_t nspid = 0;     // pid in the container's pid namespace (unchanged)
  pid_t new_pid = 0;   // host pid now
  std::string comm;
};

struct ContainerRestoreReport {
  Status status;
  std::vector<PhaseTiming> phases;
  std::optional<pb::Manifest> manifest;              // absent for images not written by gpucr
  pid_t init_pid = 0;                                // host pid of the restored container's init
  std::vector<RestoredProcess> processes;
  std::optional<ExitStatus> runtime_exit;            // set when the runtime command has ended
  std::vector<std::string> cuda_report;              // one line per CUDA process
  bool paused = false;                               // --restore-frozen paused it again
  // Without --detach the runtime stays in the foreground as the container's parent: this is it,
  // still running; the caller waits for it (runtime::wait_forwarding_signals).
  std::unique_ptr<runtime::Running> running;
};

ContainerRestoreReport restore_container(const ContainerRestoreOptions& opts, ContainerHost& host);

}  // namespace gpucr
