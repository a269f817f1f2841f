#include "core/gpu_restore.hpp"

#include "util/log.hpp"

namespace gpucr {

// Honours the inventory's plugins field before anything is touched (criu/plugins.hpp).
Status GpuRestore::check_handlers(const criu::Inventory& inv, const fs::path& image_dir,
                                  const fs::path& criu_plugin_dir) {
  plan_ = criu::plan_plugins(inv, host_.handlers, criu_plugin_dir, host_.criu.binary().version);
  GPUCR_TRY(criu::require_handlers(*plan_, image_dir));
  log::info("plugins field: " + plan_->meaning());
  return {};
}

Status GpuRestore::arm_recovery(const std::string& restore_pidfile,
                                const std::optional<recovery::JournalContainer>& container) {
  journal_ = GPUCR_TRY(recovery::Journal::create(host_.run, "restore"));
  journal_->data().restore_pidfile = restore_pidfile;
  journal_->data().container = container;
  cuda_.journal(journal_->data());
  GPUCR_TRY(journal_->save());
  auto seams = host_.recovery();
  seams.cuda_tool = cuda_.options().tool;
  if (container) seams.runtime = container->runtime;
  guardian_ = GPUCR_TRY(recovery::Guardian::start(*journal_, seams));
  return {};
}

// criu must not see the names gpucr handles itself ("Missing required plugin").
Status GpuRestore::prepare_view(const fs::path& image_dir, const criu::Inventory& inventory) {
  criu::Inventory for_criu = inventory;
  for_criu.set_plugins(plan_->for_criu);
  view_ = GPUCR_TRY(criu::ImageView::create(image_dir, for_criu));
  if (journal_) {  // a killed gpucr's view is removed by recovery
    journal_->data().view = view_.dir().string();
    GPUCR_TRY(journal_->save());
  }
  return {};
}

Status GpuRestore::remove_view() {
  GPUCR_TRY(view_.remove());
  if (journal_ && !journal_->data().view.empty()) {
    journal_->data().view.clear();
    GPUCR_TRY(journal_->save());
  }
  return {};
}

void GpuRestore::begin_restore(const std::string& phase, std::int64_t deadline_ms, const std::vector<pid_t>& pids) {
  if (!journal_) return;
  journal_->data().phase = phase;
  journal_->data().criu_deadline_ms = deadline_ms;
  journal_->data().restore_pids = pids;
  if (auto st = journal_->save(); !st) log::warn(st.error().what);
}

void GpuRestore::restore_started(pid_t pid) {
  if (!journal_) return;
  auto info = host_.procs.info(pid);
  journal_->data().criu = proc::ProcessId{pid, info ? info->start_time : 0};
  if (auto st = journal_->save(); !st) log::warn(st.error().what);
}

Status GpuRestore::journaled(const std::string& phase, const std::function<Status()>& fn) {
  if (journal_) {
    journal_->data().phase = phase;
    cuda_.journal(journal_->data());
    GPUCR_TRY(journal_->save());
  }
  return fn();
}

Status GpuRestore::find_restored(pid_t root) {
  GPUCR_TRY(cuda_.find_restored(root));
  auto adopted = GPUCR_TRY(cuda_.adopt_unplanned(root));
  for (pid_t pid : adopted) {
    host_.progress.note("pid " + std::to_string(pid) +
                        " of the restored tree is CUDA-checkpointed though the image's manifest did not name it: "
                        "gpucr restores it too");
  }
  if (journal_) {
    cuda_.journal(journal_->data());
    GPUCR_TRY(journal_->save());
  }
  return {};
}

Status GpuRestore::restore() {
  return journaled("gpu restore", [&] { return cuda_.restore_all(); });
}

Status GpuRestore::unlock() {
  return journaled("gpu unlock", [&] { return cuda_.unlock_all(); });
}

void GpuRestore::finish() {
  if (journal_) journal_->finish();
  guardian_.release();
}

}  // namespace gpucr
