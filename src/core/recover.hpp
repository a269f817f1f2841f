// Bringing CUDA processes (and their freezer cgroup) to the state an operation promised, from a
// journal: after gpucr died (the guardian, or `gpucr recover`, or the next gpucr invocation), and
// by the drivers themselves to roll back.
#pragma once

#include "core/journal.hpp"
#include "gpu/cuda/checkpointer.hpp"

#include <functional>
#include <memory>

namespace gpucr {

// Moves `pid` from whatever state the driver reports to `target` (restore, then unlock, as
// needed). Returns a line saying what was done ("pid 12: checkpointed -> running").
Result<std::string> bring_to_state(cuda::Checkpointer& backend, pid_t pid, cuda::State target,
                                   const std::vector<cuda::GpuPair>& map, std::uint64_t device_bytes);

struct RecoverDeps {
  const proc::ProcessTable& procs;
  // Creates the backend the journal names ("api" or "tool" + path).
  std::function<Result<std::unique_ptr<cuda::Checkpointer>>(const JournalData&)> backend;
  // Freezer record -> thaw it for GPU calls (when `thaw` is true) or put it back to its
  // original state (false). Empty when no freezer support is linked in.
  std::function<Status(const nlohmann::json& record, bool thaw)> freezer;
  // A container operation's journal: the container's init host pid once it runs (running or
  // paused, per `<runtime> state`), else nullopt. Empty: container restores are resolved only
  // from what the journal holds.
  std::function<std::optional<pid_t>(const JournalContainer&)> container_init;
};

struct RecoverReport {
  Status status;                    // rollback_incomplete when something could not be fixed
  std::vector<std::string> lines;   // what was found and done
};

// Waits for the operation's criu to end, then brings every journaled process to its target and
// the cgroup to its original state; removes the journal when everything succeeded.
RecoverReport recover(const fs::path& journal, RecoverDeps& deps);

// Journals whose owner and guardian are both gone (an operation nobody is finishing).
std::vector<fs::path> stale_journals(const proc::ProcessTable& procs);

// The stale journals of container `id` whose criu or runtime command has ended too (the
// container's poststop hook may run inside that command, which waits for the hook).
std::vector<fs::path> stale_container_journals(const proc::ProcessTable& procs, const std::string& id);

}  // namespace gpucr
