#include "core/restore.hpp"

#include "core/gpu_restore.hpp"
#include "core/amd_restore.hpp"
#include "core/manifest.hpp"
#include "core/pids.hpp"
#include "freezer/keeper.hpp"
#include "criu/inventory.hpp"
#include "criu/stats.hpp"
#include "util/log.hpp"
#include "util/signals.hpp"
#include "util/strings.hpp"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <thread>

namespace gpucr {

namespace {

class RestoreRun {
 public:
  RestoreRun(const RestoreOptions& o, Host& h)
      : opts_(o),
        host_(h),
        phases_(h.progress),
        work_dir_(o.work_dir.value_or(o.image_dir)),
        gpu_(o.cuda, h, o.device_map),
        freezer_(h.freezer),
        amd_(h.amd, o.amd) {}

  RestoreReport run() {
    phases_.step("read image", [&] { return read_image(); });
    phases_.step("check GPU handlers", [&] { return check_handlers(); });
    phases_.step("plan GPU restore", [&] { return gpu_.plan(manifest_); });
    if (amd_needed_) phases_.step("amd: preflight", [&] { return amd_.preflight(opts_.image_dir); });
    if (manifest_ && manifest_->has_freezer()) phases_.step("check freezer cgroup", [&] { return check_cgroup(); });
    // The restored CUDA processes come back CHECKPOINTED: if gpucr dies before they run again,
    // the guardian restores and unlocks them.
    phases_.step("arm recovery", [&] { return gpu_.arm_recovery((work_dir_ / "restore.pid").string(), std::nullopt); });
    phases_.step("wait for pids", [&] { return wait_for_pids(); });
    if (gpu_.needs_view()) phases_.step("prepare image view", [&] { return gpu_.prepare_view(opts_.image_dir, inventory_); });
    phases_.step("criu restore", [&] { return criu_restore(); });
    if (!gpu_.view_dir().empty()) phases_.always("remove image view", [&] { return gpu_.remove_view(); });
    phases_.step("find restored processes", [&] { return gpu_.find_restored(root_pid_); });
    phases_.step("gpu restore", [&] { return gpu_.restore(); });
    phases_.step("gpu unlock", [&] { return gpu_.unlock(); });
    // Only after the GPU restore: no GPU call may reach a frozen process.
    if (opts_.restore_frozen) phases_.step("freeze restored tree", [&] { return refreeze(); });
    phases_.step("write pid file", [&] { return write_pid_file(); });
    phases_.always("finish", [&] { return finish(); });
    if (freezer_.thawed_by_gpucr()) phases_.always("restore freezer state", [&] { return freezer_.restore_original_state(); });
    return report();
  }

 private:
  Status read_image() {
    if (::geteuid() != 0) {
      return fail(Error("restoring " + opts_.image_dir.string() + " needs root privileges", Exit::not_permitted)
                      .with_hint("run gpucr as root"));
    }
    if (!fs::is_directory(opts_.image_dir)) {
      return fail(Error("image directory " + opts_.image_dir.string() + " does not exist", Exit::bad_input));
    }
    manifest_ = GPUCR_TRY(read_manifest(opts_.image_dir));
    inventory_ = GPUCR_TRY(criu::read_inventory(opts_.image_dir));
    for (const auto& e : GPUCR_TRY(criu::read_pstree(opts_.image_dir))) {
      pids_.push_back(static_cast<pid_t>(e.pid()));
      for (auto t : e.threads()) pids_.push_back(static_cast<pid_t>(t));
    }
    if (work_dir_ != opts_.image_dir) GPUCR_TRY(make_private_dir(work_dir_, /*must_be_empty=*/false));
    amd_needed_ = GPUCR_TRY(amd_.needed(opts_.image_dir, manifest_));
    return {};
  }

  Status check_handlers() {
    fs::path dir = opts_.amd.criu_plugins_dir.value_or(criu::plugin_dir(opts_.criu_flags.plugin_dir));
    return gpu_.check_handlers(inventory_, opts_.image_dir, dir);
  }

  Status wait_for_pids() { return wait_for_free_pids(host_.procs, pids_, opts_.pid_wait); }

  // A restore is all or nothing: when a step after criu failed, the restored tree is killed
  // (the images stay, for another try, e.g. with a corrected --device-map).
  Status finish() {
    if (phases_.failed() && root_pid_ > 0) {
      for (pid_t p : restored_pids()) ::kill(p, SIGKILL);
      int ws;
      ::waitpid(root_pid_, &ws, 0);
      host_.progress.note("killed the restored tree (pid " + std::to_string(root_pid_) +
                          "): its GPU state could not be restored; the images are unchanged");
      root_pid_ = 0;
    }
    gpu_.finish();
    return {};
  }

  std::vector<pid_t> restored_pids() const {
    std::vector<pid_t> out = {root_pid_};
    if (auto tree = proc::process_tree(host_.procs, root_pid_)) {
      for (const auto& p : *tree) out.push_back(p.pid);
    }
    return out;
  }

  // criu hangs restoring tasks into a frozen cgroup: the one recorded at checkpoint may still be
  // frozen (gpucr put it back so after dumping a frozen tree).
  Status check_cgroup() {
    freezer::Cgroup cg = freezer::from_record(manifest_->freezer());
    if (!host_.freezer.exists(cg) || !freezer::counts_as_frozen(GPUCR_TRY(host_.freezer.state(cg)))) return {};
    if (!opts_.restore_frozen) {
      return fail(Error(cg.describe() + " is frozen: criu would hang restoring the tree into it")
                      .with_hint("thaw it first, or pass --restore-frozen: gpucr then thaws it for the restore and "
                                 "freezes it again once the tree is restored"));
    }
    GPUCR_TRY(freezer_.capture(0, cg.dir));
    GPUCR_TRY(freezer_.thaw());
    host_.progress.note("thawed " + cg.describe() + " for the restore; it is frozen again afterwards");
    return {};
  }

  Status refreeze() {
    if (!manifest_ || !manifest_->has_freezer()) {
      host_.progress.note("no freezer state recorded at checkpoint: the restored tree runs");
      return {};
    }
    refrozen_ = GPUCR_TRY(freezer::refreeze_restored(host_.freezer, root_pid_, manifest_->freezer()));
    if (!refrozen_) host_.progress.note("the tree's cgroup was thawed at checkpoint: the restored tree runs");
    return {};
  }

  criu::RestoreFlags restore_flags() const {
    criu::RestoreFlags f;
    static_cast<criu::CommonFlags&>(f) = opts_.criu_flags;
    if (manifest_) {  // a restore needs the flags the dump used; the caller may add more
      const auto& d = manifest_->flags();
      f.tcp_established |= d.tcp_established();
      f.shell_job |= d.shell_job();
      f.ext_unix_sk |= d.ext_unix_sk();
      f.file_locks |= d.file_locks();
    }
    f.image_dir = gpu_.view_dir().empty() ? opts_.image_dir : gpu_.view_dir();
    f.work_dir = work_dir_;
    f.pidfile = work_dir_ / "restore.pid";
    return f;
  }

  Status criu_restore() {
    criu::RestoreFlags f = restore_flags();
    ::unlink(f.pidfile->c_str());
    plugins_ = GPUCR_TRY(criu::PluginDir::create(work_dir_, amd_.plugin_files()));
    f.plugin_dir = plugins_.path();  // exactly the plugins this image needs (core/criu_plugins.hpp)
    criu::Invocation inv{criu::restore_args(f), work_dir_ / criu::kRestoreLog, amd_.criu_env(), {}};
    auto ran = host_.criu.run(inv, [&](pid_t pid) { gpu_.restore_started(pid); });
    (void)plugins_.remove();
    auto out = GPUCR_TRY(std::move(ran));
    if (!out.status.success()) {
      Error e("criu restore of " + opts_.image_dir.string() + " failed (" + out.status.describe() + ")");
      e.details = out.error_lines;
      e.hint = "criu's log: " + inv.log.string();
      return fail(std::move(e));
    }
    auto text = GPUCR_TRY(read_file(*f.pidfile));
    root_pid_ = static_cast<pid_t>(GPUCR_TRY(parse_int(trim(text), "restored root pid")));
    log::info("restored tree root: pid " + std::to_string(root_pid_));
    return {};
  }

  Status write_pid_file() {
    if (!opts_.pid_file) return {};
    return write_file_atomic(*opts_.pid_file, std::to_string(root_pid_) + "\n", 0644);
  }

  RestoreReport report() {
    RestoreReport r;
    r.status = phases_.result();
    r.phases = phases_.timings();
    r.manifest = manifest_;
    r.root_pid = root_pid_;
    r.criu_log = work_dir_ / criu::kRestoreLog;
    r.cuda_report = gpu_.cuda().report_lines();
    r.plugins = gpu_.plugins();
    r.refrozen = refrozen_;
    return r;
  }

  const RestoreOptions& opts_;
  Host& host_;
  Phases phases_;
  fs::path work_dir_;
  std::optional<pb::Manifest> manifest_;
  std::vector<pid_t> pids_;
  pid_t root_pid_ = 0;
  GpuRestore gpu_;
  criu::Inventory inventory_;
  freezer::Keeper freezer_;  // the recorded cgroup when it had to be thawed for the restore
  bool refrozen_ = false;
  AmdRestore amd_;
  bool amd_needed_ = false;
  criu::PluginDir plugins_;
};

}  // namespace

RestoreReport restore(const RestoreOptions& opts, Host& host) { return RestoreRun(opts, host).run(); }

ExitStatus wait_for_tree(pid_t root) {
  for (;;) {
    int ws = 0;
    pid_t r = ::waitpid(root, &ws, WNOHANG);
    if (r == root) return ExitStatus::from_wait_status(ws);
    if (r < 0 && errno != EINTR) {
      // Not our child (should not happen with --restore-sibling): poll until it is gone.
      if (::kill(root, 0) != 0) return ExitStatus{};
    }
    if (int sig = signals::cancel_signal()) {
      ::kill(root, sig);
      signals::clear();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

}  // namespace gpucr
