#include "core/gpu_checkpoint.hpp"

#include "recovery/recover.hpp"
#include "util/log.hpp"
#include "util/signals.hpp"

namespace gpucr {

Status GpuCheckpoint::record_freezer(pid_t root, const std::vector<proc::ProcInfo>& tree,
                                     const std::optional<fs::path>& cgroup_dir) {
  GPUCR_TRY(freezer_.capture(root, cgroup_dir));
  std::vector<pid_t> pids;
  for (const auto& p : tree) pids.push_back(p.pid);
  return freezer_.check_tree(pids);
}

// Before the first state change (thaw, lock): the journal and the guardian that finishes the
// operation if gpucr dies. Every checkpoint has them: the post-dump hook needs the journal.
Status GpuCheckpoint::arm_recovery(const std::optional<recovery::JournalContainer>& container) {
  journal_ = GPUCR_TRY(recovery::Journal::create(host_.run, "checkpoint"));
  journal_->data().container = container;
  GPUCR_TRY(journal_->save());
  auto seams = host_.recovery();
  seams.cuda_tool = cuda_.options().tool;
  if (container) seams.runtime = container->runtime;
  guardian_ = GPUCR_TRY(recovery::Guardian::start(*journal_, seams));
  freezer_.on_change([this](const pb::FreezerRecord& r) {
    journal_->data().freezer = recovery::freezer_to_journal(r);
    return journal_->save();
  });
  return {};
}

Status GpuCheckpoint::thaw_for_gpu() {
  if (!cuda_.has_candidates() || !freezer_.has_cgroup()) return {};
  std::vector<pid_t> pids;
  for (const auto& c : cuda_.candidates()) pids.push_back(c.info.pid);
  return freezer_.thaw_for_gpu(pids);
}

Status GpuCheckpoint::preflight(const fs::path& image_dir, const std::vector<proc::ProcInfo>& tree) {
  std::uint64_t rss = 0;
  for (const auto& p : tree) rss += p.rss_bytes;
  return cuda_.preflight(image_dir, rss);
}

// Records the CUDA processes and the phase in the journal before running `fn`.
Status GpuCheckpoint::journaled(const std::string& phase, const std::function<Status()>& fn) {
  if (cuda_.empty()) return {};
  if (journal_) {
    journal_->data().phase = phase;
    cuda_.journal(journal_->data());
    GPUCR_TRY(journal_->save());
  }
  return fn();
}

Status GpuCheckpoint::lock() {
  return journaled("gpu lock", [&] { return cuda_.lock_all(); });
}

Status GpuCheckpoint::checkpoint() {
  return journaled("gpu checkpoint", [&] { return cuda_.checkpoint_all(); });
}

void GpuCheckpoint::begin_dump(const std::string& phase, std::int64_t deadline_ms) {
  if (!journal_) return;
  journal_->data().phase = phase;
  journal_->data().criu_deadline_ms = deadline_ms;
  if (auto st = journal_->save(); !st) log::warn(st.error().what);
}

void GpuCheckpoint::dump_started(pid_t pid) {
  if (!journal_) return;
  auto info = host_.procs.info(pid);
  journal_->data().criu = proc::ProcessId{pid, info ? info->start_time : 0};
  if (auto st = journal_->save(); !st) log::warn(st.error().what);
}

void GpuCheckpoint::propagate_cancel() {
  if (!journal_ || !signals::cancel_requested() || journal_->data().cancel) return;
  journal_->data().cancel = true;
  if (auto st = journal_->save(); !st) log::warn(st.error().what);
}

Status GpuCheckpoint::settle(bool dumped, bool leave_running) {
  if (cuda_.empty() || (dumped && !leave_running)) return {};
  if (journal_) {
    journal_->data().phase = "gpu settle";
    (void)journal_->save();
  }
  return cuda_.rollback();
}

Status GpuCheckpoint::finish(const Phases& phases) {
  if (!journal_) return {};
  bool incomplete = phases.failed() && phases.result().error().exit == Exit::rollback_incomplete;
  if (!incomplete) journal_->finish();  // otherwise keep it for `gpucr recover`
  guardian_.release();
  return {};
}

void GpuCheckpoint::record(pb::Manifest& m) const {
  if (freezer_.has_cgroup()) *m.mutable_freezer() = freezer_.record();
  cuda_.record(m);
}

}  // namespace gpucr
