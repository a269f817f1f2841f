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
  guardian_ = GPUCR_TRY(recovery::Guardian::start(*journal_, host_.recovery()));
  return {};
}

// criu must not see the names gpucr handles itself ("Missing required plugin").
Status GpuRestore::prepare_view(const fs::path& image_dir, const criu::Inventory& inventory) {
  criu::Inventory for_criu = inventory;
  for_criu.set_plugins(plan_->for_criu);
  view_ = GPUCR_TRY(criu::ImageView::create(image_dir, for_criu));
  return {};
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
