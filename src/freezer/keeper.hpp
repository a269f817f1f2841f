// Keeper: remembers the original state of a tree's freezer cgroup and puts it back.
//
// A checkpoint of a tree whose cgroup may be frozen (CRI-O and containerd pause a container
// before they call checkpoint) goes:
//   capture(root pid [, --freeze-cgroup DIR])  find the cgroup, record its state; changes nothing
//   check_tree(pids)                           no process of the tree sits in another frozen cgroup
//   thaw_for_gpu(gpu pids)                     ONLY when the tree has GPU processes: a frozen
//                                              process must never get a GPU driver call
//   ... GPU steps, criu dump (interrupt-only when thawed: no --freeze-cgroup) ...
//   restore_original_state()                   always, as the last cleanup step: freezes the
//                                              cgroup again if it was frozen, thaws it if it was
//                                              thawed and something (a killed criu) left it frozen
// A tree without GPU processes is never thawed by gpucr (criu's --freeze-cgroup copes with a
// frozen cgroup and puts it back itself).
//
// Crash safety: the record (pb::FreezerRecord, in the manifest) is handed to on_change() before
// gpucr changes the cgroup, so a journal can keep it; a recovery that has only the record calls
// restore_original_state(freezer, record).
//
// Restore: criu can't restore tasks into a frozen cgroup (it hangs), so with
// `gpucr restore --restore-frozen` a cgroup still frozen since the checkpoint is captured and
// thaw()ed first; refreeze_restored() then freezes the restored tree's cgroup again when the
// record says it was frozen at checkpoint, only after the GPU restore; restore_original_state()
// puts it back if the restore failed. Without --restore-frozen the restored tree runs.
#pragma once

#include "freezer/freezer.hpp"
#include "manifest.pb.h"

#include <functional>
#include <vector>

namespace gpucr::freezer {

inline constexpr std::chrono::milliseconds kDefaultTimeout{10000};

class Keeper {
 public:
  using Persist = std::function<Status(const pb::FreezerRecord&)>;

  explicit Keeper(Freezer& fz, std::chrono::milliseconds timeout = kDefaultTimeout) : fz_(fz), timeout_(timeout) {}

  // Called with the record before every change gpucr makes to the cgroup; a failure cancels
  // the change.
  void on_change(Persist p) { persist_ = std::move(p); }

  // Finds the freezer cgroup of `pid` (or takes `dir`, a cgroup the caller named) and records
  // its state. A pid in the root cgroup has none: has_cgroup() is then false and none_reason()
  // says why; that is not an error.
  Status capture(pid_t pid, const std::optional<fs::path>& dir = std::nullopt);
  // Fails (bad_input) when a process of the tree is in a frozen cgroup other than the recorded
  // one or its descendants: gpucr keeps the state of one freezer cgroup per tree.
  Status check_tree(const std::vector<pid_t>& pids) const;

  bool has_cgroup() const { return cgroup_.has_value(); }
  const std::optional<Cgroup>& cgroup() const { return cgroup_; }
  const std::string& none_reason() const { return none_reason_; }
  bool was_frozen() const { return rec_.original_state() == pb::FreezerRecord::FROZEN; }
  bool thawed_by_gpucr() const { return rec_.thawed_by_gpucr(); }
  const pb::FreezerRecord& record() const { return rec_; }

  // Thaws the cgroup when it was frozen, recording that it did (through on_change first).
  Status thaw();
  // thaw(), then checks that none of `gpu_pids` is still frozen (e.g. in a frozen cgroup of its
  // own): no GPU driver call may reach a frozen process.
  Status thaw_for_gpu(const std::vector<pid_t>& gpu_pids);
  // criu is about to freeze the cgroup itself (--freeze-cgroup, or a runtime's criu): recorded
  // first, so that a recovery thaws a cgroup criu left frozen (restore_original_state).
  Status note_criu_freezes();
  // Returns the cgroup to its recorded state. Idempotent; a no-op without a cgroup.
  Status restore_original_state();

 private:
  Freezer& fz_;
  std::chrono::milliseconds timeout_;
  Persist persist_;
  std::optional<Cgroup> cgroup_;
  std::string none_reason_;
  pb::FreezerRecord rec_;
};

pb::FreezerRecord to_record(const Cgroup& cg, State original, pid_t pid);
Cgroup from_record(const pb::FreezerRecord& rec);

// Puts the cgroup of `rec` back into rec's original state (frozen or thawed). A cgroup that no
// longer exists is left alone. The policy for a cgroup found frozen that was thawed at the start:
// it is thawed only when gpucr or its criu could have frozen it (thawed_by_gpucr, criu_freezes);
// one that someone else froze during the operation (an engine pausing the container) is left
// frozen, and a warning says so: gpucr never undoes another party's change. Failures are
// Exit::rollback_incomplete and say how to finish by hand.
Status restore_original_state(Freezer& fz, const pb::FreezerRecord& rec,
                              std::chrono::milliseconds timeout = kDefaultTimeout);

// After a restore: when `rec` says the cgroup was frozen at checkpoint, freezes the cgroup the
// restored tree (root `root`) is in now. Returns whether it froze one.
Result<bool> refreeze_restored(Freezer& fz, pid_t root, const pb::FreezerRecord& rec,
                               std::chrono::milliseconds timeout = kDefaultTimeout);

}  // namespace gpucr::freezer
