#include "core/restore.hpp"

#include "core/amd_restore.hpp"
#include "core/container_gpus.hpp"
#include "core/destination.hpp"
#include "core/criu_deadline.hpp"
#include "core/tree.hpp"
#include "core/gpu_restore.hpp"
#include "core/manifest.hpp"
#include "core/pids.hpp"
#include "core/target.hpp"
#include "core/thp_staging.hpp"
#include "criu/inventory.hpp"
#include "criu/stats.hpp"
#include "freezer/keeper.hpp"
#include "recovery/recover.hpp"
#include "util/log.hpp"
#include "util/signals.hpp"


namespace gpucr {

namespace {

class RestoreRun {
 public:
  RestoreRun(const RestoreRequest& r, Host& h)
      : req_(r),
        host_(h),
        phases_(h.progress),
        target_(make_restore_target(r, h)),
        work_dir_(r.work_dir.value_or(r.image_dir)),
        gpu_(r.cuda, h, r.device_map),
        freezer_(h.freezer),
        amd_(h.amd, r.amd, r.criu.plugins_dir),
        thp_(r.thp_window, h) {}

  RestoreReport run() {
    phases_.step("validate target", [&] { return validate(); });
    phases_.step("finish abandoned operations", [&] { return finish_abandoned(); });
    phases_.step("lock target", [&] { return target_->lock(); });
    phases_.step("read image", [&] { return read_image(); });
    phases_.step("check GPU handlers", [&] { return check_handlers(); });
    phases_.step("plan GPU restore", [&] { return gpu_.plan(manifest_); });
    phases_.step("check destination", [&] { return check_destination(manifest_, host_); });  // core/destination.hpp
    if (amd_needed_) phases_.step("amd: preflight", [&] { return amd_.preflight(req_.image_dir); });
    if (manifest_ && manifest_->has_container()) phases_.step("check gpus", [&] { return check_gpus(); });
    // The restored CUDA processes come back CHECKPOINTED: if gpucr dies before they run again,
    // the guardian restores and unlocks them. Armed before the freezer is touched.
    phases_.step("arm recovery", [&] { return arm_recovery(); });
    if (target_->reuses_cgroup() && manifest_ && manifest_->has_freezer()) {
      phases_.step("check freezer cgroup", [&] { return check_cgroup(); });
    }
    if (target_->needs_dumped_pids()) phases_.step("wait for pids", [&] { return wait_for_pids(); });
    if (gpu_.needs_view()) phases_.step("prepare image view", [&] { return gpu_.prepare_view(req_.image_dir, inventory_); });
    // Huge pages while criu restores and the GPU state comes back (core/thp_staging.hpp).
    if (thp_.wanted()) phases_.step("open THP window", [&] { return thp_.open(gpu_.journal()); });
    phases_.step(target_->restore_phase(), [&] { return restore_tree(); });
    if (!gpu_.view_dir().empty()) phases_.always("remove image view", [&] { return gpu_.remove_view(); });
    phases_.step("find restored processes", [&] { return find_restored(); });
    phases_.step("gpu restore", [&] { return gpu_.restore(); });
    phases_.step("gpu unlock", [&] { return gpu_.unlock(); });
    if (thp_.wanted()) phases_.always("close THP window", [&] { return thp_.close(); });
    // The driver is asked once more: no process stays LOCKED or CHECKPOINTED behind an exit 0.
    phases_.step("verify GPU state", [&] { return verify(); });
    // Only after the GPU restore: no GPU call may reach a frozen process.
    if (req_.restore_frozen) phases_.step("freeze restored tree", [&] { return freeze_again(); });
    phases_.step("write pid file", [&] { return target_->publish(root_pid_); });
    phases_.always("finish", [&] { return finish(); });
    if (freezer_.thawed_by_gpucr()) phases_.always("restore freezer state", [&] { return freezer_.restore_original_state(); });
    phases_.always("unlock target", [&] {
      target_->unlock();
      tree_lock_.release();
      return Status{};
    });
    return report();
  }

 private:
  Status validate() {
    GPUCR_TRY(target_->validate());
    if (req_.image_dir.empty() || !req_.image_dir.is_absolute()) {
      return fail(Error("the image directory must be an absolute path, not '" + req_.image_dir.string() + "'",
                        Exit::usage));
    }
    if (!fs::is_directory(req_.image_dir)) {
      return fail(Error("image directory " + req_.image_dir.string() + " does not exist", Exit::bad_input));
    }
    return {};
  }

  Status finish_abandoned() {
    auto seams = host_.recovery();
    seams.cuda_tool = req_.cuda.tool;
    return recovery::finish_abandoned(seams, [&](const std::string& l) { host_.progress.note(l); });
  }

  Status read_image() {
    manifest_ = GPUCR_TRY(read_manifest(req_.image_dir));
    if (!manifest_) log::info("no gpucr manifest in " + req_.image_dir.string() + ": a plain criu image");
    inventory_ = GPUCR_TRY(criu::read_inventory(req_.image_dir));
    if (target_->needs_dumped_pids()) {
      for (const auto& e : GPUCR_TRY(criu::read_pstree(req_.image_dir))) {
        pids_.push_back(static_cast<pid_t>(e.pid()));
        for (auto t : e.threads()) pids_.push_back(static_cast<pid_t>(t));
      }
    }
    if (target_->gpucr_runs_criu() && work_dir_ != req_.image_dir) {
      GPUCR_TRY(make_private_dir(work_dir_, /*must_be_empty=*/false));
    }
    amd_needed_ = GPUCR_TRY(amd_.needed(req_.image_dir, manifest_));
    return {};
  }

  Status check_handlers() {
    return gpu_.check_handlers(inventory_, req_.image_dir, req_.criu.plugins_dir.value_or(host_.criu_plugin_dir));
  }

  // The prestart hook makes the same check inside the runtime; doing it here too fails before
  // the runtime creates anything. GPUs the CUDA processes used were checked by "plan GPU
  // restore"; a container device of a remapped GPU must be there under its new UUID.
  Status check_gpus() {
    std::map<std::string, std::string> moved;
    for (const auto& p : gpu_.cuda().map().pairs) moved[p.old_gpu.str()] = p.new_gpu.str();
    return check_gpus_present(manifest_->container(), host_.gpu_devices, moved);
  }

  Status arm_recovery() {
    GPUCR_TRY(gpu_.arm_recovery(target_->restore_pidfile(), target_->journal_record()));
    freezer_.on_change([this](const pb::FreezerRecord& r) {
      auto& j = gpu_.journal();
      j.data().freezer = recovery::freezer_to_journal(r);
      return j.save();
    });
    return {};
  }

  Status wait_for_pids() { return wait_for_free_pids(host_.procs, pids_, req_.pid_wait); }

  // criu hangs restoring tasks into a frozen cgroup: the one recorded at checkpoint may still be
  // frozen (gpucr put it back so after dumping a frozen tree). The thaw is journaled first.
  Status check_cgroup() {
    freezer::Cgroup cg = freezer::from_record(manifest_->freezer());
    if (!host_.freezer.exists(cg) || !freezer::counts_as_frozen(GPUCR_TRY(host_.freezer.state(cg)))) return {};
    if (!req_.restore_frozen) {
      return fail(Error(cg.describe() + " is frozen: criu would hang restoring the tree into it")
                      .with_hint("thaw it first, or pass --restore-frozen: gpucr then thaws it for the restore and "
                                 "freezes it again once the tree is restored"));
    }
    GPUCR_TRY(freezer_.capture(0, cg.dir));
    GPUCR_TRY(freezer_.thaw());
    host_.progress.note("thawed " + cg.describe() + " for the restore; it is frozen again afterwards");
    return {};
  }

  CriuOptions criu_options() const {
    CriuOptions o = req_.criu;
    if (manifest_) {  // a restore needs the flags the dump used; the caller may add more
      const auto& d = manifest_->flags();
      o.tcp_established |= d.tcp_established();
      o.shell_job |= d.shell_job();
      o.ext_unix_sk |= d.ext_unix_sk();
      o.file_locks |= d.file_locks();
    }
    return o;
  }

  Status restore_tree() {
    auto scratch = GPUCR_TRY(gpu_.journal().scratch_dir());
    plugins_ = GPUCR_TRY(criu::PluginDir::create(scratch, amd_.plugin_files()));
    RestoreJob j;
    j.image_dir = gpu_.view_dir().empty() ? req_.image_dir : gpu_.view_dir();
    j.work_dir = work_dir_;
    j.plugin_dir = plugins_.path();  // exactly the plugins this image needs (core/criu_plugins.hpp)
    j.criu = criu_options();
    j.env = amd_.criu_env();
    j.journal = &gpu_.journal();
    j.started = [&](pid_t pid) { gpu_.restore_started(pid); };
    j.dumped_pids = pids_;
    auto image_bytes = dir_size(req_.image_dir).value_or(0);
    CriuWatch watch(host_.time, req_.criu_deadline.value_or(criu_deadline_for(image_bytes)), target_->restore_phase());
    j.stop = [&] { return watch.check(); };
    gpu_.begin_restore(target_->restore_phase(), watch.deadline_epoch_ms(), pids_);
    auto root = target_->restore(j, manifest_);
    (void)plugins_.remove();
    restored_ = true;
    root_pid_ = GPUCR_TRY(std::move(root));
    return {};
  }

  // The restored tree's lock first (no other gpucr operation may take the tree while its GPU
  // state is not back), then each CUDA process's new host pid.
  Status find_restored() {
    auto info = GPUCR_TRY(host_.procs.info(root_pid_));
    tree_lock_ = GPUCR_TRY(lock_tree(host_.run, {root_pid_, info.start_time}, "restore", req_.lock_wait));
    GPUCR_TRY(target_->map_pids(root_pid_, manifest_));
    return gpu_.find_restored(root_pid_);
  }

  Status verify() {
    GPUCR_TRY(gpu_.verify());
    gpu_done_ = true;
    return {};
  }

  Status freeze_again() {
    refrozen_ = GPUCR_TRY(target_->freeze_again(root_pid_, manifest_));
    return {};
  }

  // A restore is all or nothing: when a step after the restore failed before the GPU state was
  // back, the restored tree is killed (a container also deleted); the images stay, for another
  // try (e.g. with a corrected --device-map). A tree that runs whole but could not be frozen
  // again stays.
  Status finish() {
    if (phases_.failed() && restored_ && !gpu_done_) {
      std::string done = target_->remove_restored(root_pid_);
      if (!done.empty()) host_.progress.note(done);
      removed_ = done;
      root_pid_ = 0;
    }
    gpu_.finish();
    return {};
  }

  RestoreReport report() {
    RestoreReport r;
    r.status = phases_.result();
    if (!r.status && !removed_.empty()) {  // the one policy: a failed restore removes what it made
      Error e = r.status.error();
      e.details.push_back(removed_);
      r.status = fail(std::move(e));
    }
    r.phases = phases_.timings();
    r.manifest = manifest_;
    r.root_pid = root_pid_;
    r.criu_log = work_dir_ / criu::kRestoreLog;
    r.cuda_report = gpu_.cuda().report_lines();
    r.plugins = gpu_.plugins();
    r.refrozen = refrozen_;
    target_->report(r);
    return r;
  }

  const RestoreRequest& req_;
  Host& host_;
  Phases phases_;
  std::unique_ptr<RestoreTarget> target_;
  fs::path work_dir_;
  GpuRestore gpu_;
  freezer::Keeper freezer_;  // the recorded cgroup when it had to be thawed for the restore
  AmdRestore amd_;
  ThpStaging thp_;
  std::optional<pb::Manifest> manifest_;
  criu::Inventory inventory_;
  std::vector<pid_t> pids_;
  bool amd_needed_ = false;
  criu::PluginDir plugins_;
  bool restored_ = false;
  bool gpu_done_ = false;
  bool refrozen_ = false;
  pid_t root_pid_ = 0;
  std::string removed_;
  OpLock tree_lock_;
};

}  // namespace

std::unique_ptr<RestoreTarget> make_restore_target(const RestoreRequest& req, Host& host) {
  if (req.container) return make_container_restore(req, host);
  return make_tree_restore(req, host);
}

RestoreReport restore(const RestoreRequest& req, Host& host) { return RestoreRun(req, host).run(); }

ExitStatus wait_for_tree(Host& host, pid_t root) {
  proc::ProcessId id{root, 0};
  if (auto info = host.procs.info(root)) id.start_time = info->start_time;
  for (;;) {
    if (auto st = host.control.reap(root, host.time.now() + std::chrono::milliseconds(50))) return *st;
    if (int sig = signals::cancel_signal()) {
      (void)host.control.kill(id, sig);
      signals::clear();
    }
  }
}

}  // namespace gpucr
