// The restore driver behind `gpucr restore` (process trees and containers) and the runtime
// wrapper's `restore`: one list of named phases (core/restore.cpp) over a target
// (core/target.hpp) that says how the tree is restored, found and removed again.
#pragma once

#include "core/host.hpp"
#include "core/phases.hpp"
#include "core/request.hpp"
#include "criu/plugins.hpp"
#include "runtime/runtime.hpp"
#include "manifest.pb.h"

#include <memory>
#include <optional>

namespace gpucr {

// A restored container process (containers: its host pid changed, its pid inside did not).
struct RestoredProcess {
  pid_t old_pid = 0;   // host pid at checkpoint
  pid_t nspid = 0;     // pid in the container's pid namespace (unchanged)
  pid_t new_pid = 0;   // host pid now
  std::string comm;
};

struct RestoreReport {
  Status status;
  std::vector<PhaseTiming> phases;
  std::optional<pb::Manifest> manifest;      // absent for images not written by gpucr
  pid_t root_pid = 0;                        // host pid of the restored root (a container's init)
  fs::path criu_log;
  std::vector<std::string> cuda_report;      // one line per CUDA process
  std::optional<criu::PluginPlan> plugins;   // what the inventory's plugins field asked for
  bool refrozen = false;                     // --restore-frozen froze (paused) the restored tree
  std::vector<RestoredProcess> processes;    // containers
  std::optional<ExitStatus> runtime_exit;    // containers: set when the runtime command has ended
  // A container restored in the foreground: the runtime stays as the container's parent; this is
  // it, still running, for the caller to wait for (runtime::wait_forwarding_signals).
  std::unique_ptr<runtime::Running> running;
};

RestoreReport restore(const RestoreRequest& req, Host& host);

// Waits for the restored root (a child of this process) to end, forwarding SIGINT, SIGTERM and
// SIGHUP to it, and returns its exit status.
ExitStatus wait_for_tree(Host& host, pid_t root);

}  // namespace gpucr
