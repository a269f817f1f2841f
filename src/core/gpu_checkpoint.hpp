// The GPU, freezer and recovery side of a checkpoint (core/checkpoint.cpp), whatever the target.
// Each method is the body of one phase; the driver calls them in this order:
//
//   find_candidates(tree)        discover: processes that may use CUDA (no driver calls)
//   record_freezer(root, tree)   the tree's freezer cgroup and its state (changes nothing)
//   arm_recovery([container])    journal + guardian, before the first change (every operation)
//   thaw_for_gpu()               a frozen cgroup is thawed (journaled first): no GPU call may reach
//                                a frozen process; the dump then seizes with ptrace only
//   classify(), preflight(...)   the driver's view of the candidates; refusals before any lock
//   lock(), checkpoint()         all CUDA processes in parallel, journaled
//   begin_dump / dump_started    around the dump (criu, or `<runtime> checkpoint`): the journal
//                                names the dumping process, recovery waits for it
//   settle(dumped, leave_running)  always: restore + unlock what gpucr moved when the dump failed
//                                or the tree keeps running
//   restore_freezer()            always, after settle: the cgroup back to its original state
//   finish(phases)               always, last: journal removed (kept when the rollback was
//                                incomplete, for `gpucr recover`), guardian released
#pragma once

#include "core/cuda_checkpoint.hpp"
#include "core/phases.hpp"
#include "recovery/guardian.hpp"
#include "recovery/journal.hpp"
#include "freezer/keeper.hpp"

#include <map>
#include <optional>

namespace gpucr {

class GpuCheckpoint {
 public:
  GpuCheckpoint(const CudaOptions& opts, Host& host) : host_(host), cuda_(opts, host), freezer_(host.freezer) {}

  void find_candidates(const std::vector<proc::ProcInfo>& tree) { cuda_.find_candidates(tree); }
  bool has_candidates() const { return cuda_.has_candidates(); }

  // The freezer cgroup of `root` (or `cgroup_dir`, a cgroup the caller named) and its state;
  // refuses a tree with a process in another frozen cgroup.
  Status record_freezer(pid_t root, const std::vector<proc::ProcInfo>& tree,
                        const std::optional<fs::path>& cgroup_dir = std::nullopt);
  Status arm_recovery(const std::optional<recovery::JournalContainer>& container = std::nullopt);
  // Thaws the tree's cgroup when it is frozen and the tree has CUDA candidates.
  Status thaw_for_gpu();
  bool thawed() const { return freezer_.thawed_by_gpucr(); }

  Status classify() { return cuda_.classify(); }
  Status preflight(const fs::path& image_dir, const std::vector<proc::ProcInfo>& tree);
  Status lock();
  Status checkpoint();

  // True once a journal and guardian watch this operation (arm_recovery ran).
  bool guarded() const { return journal_.has_value(); }
  const recovery::Journal& journal() const { return *journal_; }
  recovery::Journal& journal() { return *journal_; }
  // The dump is about to run as `phase` ("criu dump", "runtime checkpoint"); recovery may stop
  // it at `deadline_ms` (wall clock, ms since the epoch).
  void begin_dump(const std::string& phase, std::int64_t deadline_ms);
  // The dumping process (criu, or the runtime that runs it) was started: recovery waits for it.
  void dump_started(pid_t pid);
  // SIGINT/SIGTERM/SIGHUP while the dump runs: the post-dump hook is told to abandon the dump.
  void propagate_cancel();
  bool dump_abandoned() const { return journal_ && journal_->data().cancel; }

  Status settle(bool dumped, bool leave_running);
  Status restore_freezer() { return freezer_.restore_original_state(); }
  Status note_criu_freezes() { return freezer_.note_criu_freezes(); }
  Status finish(const Phases& phases);

  const freezer::Keeper& freezer() const { return freezer_; }
  const CudaCheckpoint& cuda() const { return cuda_; }
  // CUDA records, host GPUs and the freezer record.
  void record(pb::Manifest& m) const;

 private:
  Status journaled(const std::string& phase, const std::function<Status()>& fn);
  Host& host_;
  CudaCheckpoint cuda_;
  freezer::Keeper freezer_;
  std::optional<recovery::Journal> journal_;
  recovery::Guardian guardian_;
};

}  // namespace gpucr
