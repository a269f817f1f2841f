#include "core/container_restore.hpp"

#include "core/container_gpus.hpp"
#include "core/gpu_restore.hpp"
#include "core/manifest.hpp"
#include "criu/args.hpp"
#include "criu/inventory.hpp"
#include "criu/runner.hpp"
#include "runtime/container_id.hpp"
#include "runtime/lock.hpp"
#include "util/log.hpp"
#include "util/signals.hpp"
#include "util/strings.hpp"

#include <signal.h>
#include <unistd.h>

#include <thread>

namespace gpucr {

namespace {

class ContainerRestoreRun {
 public:
  ContainerRestoreRun(const ContainerRestoreOptions& o, ContainerHost& h)
      : opts_(o), host_(h), id_(o.args.id), phases_(h.host.progress),
        dirs_(container_dirs(o.args.image_path, o.args.work_path, o.cwd)),
        gpu_(o.cuda, h.host, o.device_map) {}

  ContainerRestoreReport run() {
    phases_.step("validate container", [&] { return validate(); });
    phases_.step("lock container", [&] { return lock(); });
    phases_.step("read image", [&] { return read_image(); });
    phases_.step("check GPU handlers", [&] { return gpu_.check_handlers(inventory_, dirs_.image, criu::plugin_dir({})); });
    phases_.step("plan GPU restore", [&] { return gpu_.plan(manifest_); });
    phases_.step("check gpus", [&] { return check_gpus(); });
    phases_.step("arm recovery", [&] { return gpu_.arm_recovery("", journal_container(host_, id_)); });
    if (gpu_.needs_view()) phases_.step("prepare image view", [&] { return gpu_.prepare_view(dirs_.image, inventory_); });
    phases_.step("runtime restore", [&] { return runtime_restore(); });
    if (!gpu_.view_dir().empty()) phases_.always("remove image view", [&] { return gpu_.remove_view(); });
    phases_.step("map pids", [&] { return map_pids(); });
    phases_.step("find restored processes", [&] { return gpu_.find_restored(init_pid_); });
    phases_.step("gpu restore", [&] { return gpu_.restore(); });
    phases_.step("gpu unlock", [&] { return gpu_unlock(); });
    // Only after the GPU restore: no GPU call may reach a paused container.
    if (opts_.restore_frozen) phases_.step("pause container", [&] { return pause_again(); });
    phases_.always("finish", [&] { return finish(); });
    phases_.always("unlock container", [&] { return unlock(); });
    return report();
  }

 private:
  Status validate() {
    GPUCR_TRY(runtime::check_container_id(id_));
    if (::geteuid() != 0) {
      return fail(Error("restoring container " + id_ + " needs root privileges", Exit::not_permitted)
                      .with_hint("run gpucr as root"));
    }
    if (!fs::is_directory(dirs_.image)) {
      return fail(Error("image directory " + dirs_.image.string() + " does not exist", Exit::bad_input));
    }
    return {};
  }

  Status lock() {
    lock_ = GPUCR_TRY(runtime::ContainerLock::acquire(host_.run_dir, id_, "restore", opts_.lock_wait));
    return {};
  }

  Status read_image() {
    manifest_ = GPUCR_TRY(read_manifest(dirs_.image));
    if (!manifest_) log::info("no gpucr manifest in " + dirs_.image.string() + ": a plain runtime checkpoint");
    inventory_ = GPUCR_TRY(criu::read_inventory(dirs_.image));
    return {};
  }

  // The prestart hook makes the same check inside the runtime; doing it here too fails before
  // the runtime creates anything. GPUs the CUDA processes used were checked by "plan GPU
  // restore"; a container device of a remapped GPU must be there under its new UUID.
  Status check_gpus() {
    if (!manifest_ || !manifest_->has_container()) return {};
    std::map<std::string, std::string> moved;
    for (const auto& p : gpu_.cuda().map().pairs) moved[p.old_gpu.str()] = p.new_gpu.str();
    return check_gpus_present(manifest_->container(), host_.gpus, moved);
  }

  // With an image view the runtime restores from it (criu would refuse "cuda_plugin"); its logs
  // still go to the work path (the image dir when none was given).
  std::vector<std::string> runtime_args() const {
    const fs::path& view = gpu_.view_dir();
    if (opts_.verbatim) {
      if (view.empty()) return *opts_.verbatim;
      std::optional<fs::path> work;
      if (!opts_.args.work_path) work = dirs_.work;
      return runtime::with_image_path(*opts_.verbatim, view, work);
    }
    runtime::RestoreArgs a = opts_.args;
    a.image_path = view.empty() ? dirs_.image : view;
    a.work_path = dirs_.work;
    return runtime::restore_argv(a);
  }

  Status runtime_failed(const ExitStatus& st) {
    return fail(runtime_failure(host_, "restore", id_, st, dirs_.work / criu::kRestoreLog));
  }

  Status runtime_restore() {
    running_ = GPUCR_TRY(host_.runtime.start(runtime_args(), {}, [&](pid_t pid) { gpu_.restore_started(pid); }));
    restored_ = true;  // from here on a failure removes what the runtime made
    if (opts_.args.detach) {
      runtime_exit_ = runtime::wait_forwarding_signals(*running_);
      running_.reset();
      return runtime_exit_->success() ? Status() : runtime_failed(*runtime_exit_);
    }
    return wait_until_running();
  }

  // Foreground: the runtime keeps running as the container's parent, so "restored" is when its
  // state says running (or the runtime has ended, successfully or not).
  Status wait_until_running() {
    auto deadline = Clock::now() + opts_.start_wait;
    for (;;) {
      if (auto st = running_->wait_until(Clock::now() + std::chrono::milliseconds(100))) {
        runtime_exit_ = *st;
        running_.reset();
        if (!st->success()) return runtime_failed(*st);
        return fail(Error("container " + id_ + " ended right after its restore (" + st->describe() + ")"));
      }
      if (int sig = signals::cancel_signal()) {
        running_->kill(sig);
        signals::clear();
      }
      auto s = host_.runtime.state(id_);
      if (s && (s->status == "running" || s->status == "paused") && s->pid > 0) return {};
      if (Clock::now() >= deadline) {
        return fail(Error("container " + id_ + " was not running " + format_duration(opts_.start_wait) +
                          " after " + host_.runtime.name() + " restore began"));
      }
    }
  }

  Status map_pids() {
    auto s = GPUCR_TRY(host_.runtime.state(id_));
    if (s.pid <= 0) return fail(Error("container " + id_ + " has no init process after its restore"));
    init_pid_ = s.pid;
    if (!manifest_) return {};
    for (const auto& p : manifest_->processes()) {
      RestoredProcess r{p.pid(), p.nspid().empty() ? p.pid() : p.nspid(p.nspid_size() - 1), 0, p.comm()};
      // A process may have ended since the restore (the tree runs again): it maps to 0. The GPU
      // phase requires its CUDA processes to be found.
      if (auto now = proc::host_pid_for_nspid(host_.host.procs, init_pid_, r.nspid)) r.new_pid = *now;
      log::info("container " + id_ + ": " + r.comm + " pid " + std::to_string(r.nspid) + " in the container, host pid " +
                std::to_string(r.old_pid) + " -> " + (r.new_pid ? std::to_string(r.new_pid) : "gone"));
      processes_.push_back(r);
    }
    return {};
  }

  Status gpu_unlock() {
    GPUCR_TRY(gpu_.unlock());
    gpu_done_ = true;
    return {};
  }

  Status pause_again() {
    bool was_paused = manifest_ && manifest_->has_container() && manifest_->container().status() == "paused";
    if (!was_paused) {
      host_.host.progress.note("container " + id_ + " was running at checkpoint: it runs");
      return {};
    }
    GPUCR_TRY(runtime::run_to_end(host_.runtime, {"pause", id_}, std::chrono::seconds(30)));
    paused_ = true;
    return {};
  }

  // A restore is all or nothing: when a step after the runtime's restore failed before the GPU
  // state was back, the restored container is killed and deleted (the images stay, for another
  // try, e.g. with --device-map). A container that runs whole but could not be paused stays.
  Status finish() {
    if (phases_.failed() && restored_ && !gpu_done_) remove_container();
    gpu_.finish();
    return {};
  }

  void remove_container() {
    if (auto s = host_.runtime.state(id_); !s) return;  // the runtime removed it already
    (void)runtime::run_to_end(host_.runtime, {"kill", id_, "KILL"}, std::chrono::seconds(30));
    if (running_) {  // foreground: the runtime ends with the container
      if (!running_->wait_until(Clock::now() + std::chrono::seconds(30))) running_->kill(SIGKILL);
      running_.reset();
    }
    auto del = runtime::run_to_end(host_.runtime, {"delete", "--force", id_}, std::chrono::seconds(30));
    if (!del) log::warn(del.error().what);
    host_.host.progress.note("killed and deleted the restored container " + id_ +
                             ": its GPU state could not be restored; the images are unchanged");
    init_pid_ = 0;
  }

  Status unlock() {
    lock_.release();
    return {};
  }

  ContainerRestoreReport report() {
    ContainerRestoreReport r;
    r.status = phases_.result();
    r.phases = phases_.timings();
    r.manifest = manifest_;
    r.init_pid = init_pid_;
    r.processes = processes_;
    r.runtime_exit = runtime_exit_;
    r.running = std::move(running_);
    r.cuda_report = gpu_.cuda().report_lines();
    r.paused = paused_;
    return r;
  }

  const ContainerRestoreOptions& opts_;
  ContainerHost& host_;
  const std::string id_;
  Phases phases_;
  ContainerDirs dirs_;
  runtime::ContainerLock lock_;
  std::optional<pb::Manifest> manifest_;
  criu::Inventory inventory_;
  GpuRestore gpu_;
  std::unique_ptr<runtime::Running> running_;
  std::optional<ExitStatus> runtime_exit_;
  bool restored_ = false;
  bool gpu_done_ = false;
  bool paused_ = false;
  pid_t init_pid_ = 0;
  std::vector<RestoredProcess> processes_;
};

}  // namespace

ContainerRestoreReport restore_container(const ContainerRestoreOptions& opts, ContainerHost& host) {
  return ContainerRestoreRun(opts, host).run();
}

}  // namespace gpucr
