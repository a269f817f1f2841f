#include "core/container_restore.hpp"

#include "core/container_gpus.hpp"
#include "core/manifest.hpp"
#include "criu/args.hpp"
#include "criu/runner.hpp"
#include "runtime/container_id.hpp"
#include "runtime/lock.hpp"
#include "util/log.hpp"
#include "util/signals.hpp"
#include "util/strings.hpp"

#include <unistd.h>

#include <thread>

namespace gpucr {

namespace {

class ContainerRestoreRun {
 public:
  ContainerRestoreRun(const ContainerRestoreOptions& o, ContainerHost& h)
      : opts_(o), host_(h), id_(o.args.id), phases_(h.host.progress),
        image_dir_(runtime::effective_image_path(o.args.image_path, o.cwd)),
        work_dir_(o.args.work_path ? runtime::effective_image_path(o.args.work_path, o.cwd) : image_dir_) {}

  ContainerRestoreReport run() {
    phases_.step("validate container", [&] { return validate(); });
    phases_.step("lock container", [&] { return lock(); });
    phases_.step("read image", [&] { return read_image(); });
    phases_.step("check gpus", [&] { return check_gpus(); });
    phases_.step("runtime restore", [&] { return runtime_restore(); });
    phases_.step("map pids", [&] { return map_pids(); });
    // GPU (issue 3) goes here: step "gpu restore+unlock": restore, then unlock, every CUDA
    // process of the manifest, addressed by its new host pid (processes_[i].new_pid), all in
    // parallel, each call in a killable child with a deadline. A container checkpointed while
    // paused (manifest container().status() == "paused") is paused again by the freezer
    // (issue 4) after that, in an always step.
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
    if (!fs::is_directory(image_dir_)) {
      return fail(Error("image directory " + image_dir_.string() + " does not exist", Exit::bad_input));
    }
    return {};
  }

  Status lock() {
    lock_ = GPUCR_TRY(runtime::ContainerLock::acquire(host_.run_dir, id_, "restore", opts_.lock_wait));
    return {};
  }

  Status read_image() {
    manifest_ = GPUCR_TRY(read_manifest(image_dir_));
    if (!manifest_) log::info("no gpucr manifest in " + image_dir_.string() + ": a plain runtime checkpoint");
    return {};
  }

  // The prestart hook makes the same check inside the runtime; doing it here too fails before
  // the runtime creates anything. GPU (issue 3): also every GPU the manifest's CUDA processes use.
  Status check_gpus() {
    if (!manifest_ || !manifest_->has_container()) return {};
    return check_gpus_present(manifest_->container(), host_.gpus);
  }

  std::vector<std::string> runtime_args() const {
    if (opts_.verbatim) return *opts_.verbatim;
    runtime::RestoreArgs a = opts_.args;
    a.image_path = image_dir_;
    a.work_path = work_dir_;
    return runtime::restore_argv(a);
  }

  Status runtime_failed(const ExitStatus& st) {
    Error e(host_.runtime.name() + " restore of container " + id_ + " failed (" + st.describe() + ")");
    if (auto log = read_file(work_dir_ / criu::kRestoreLog)) e.details = criu::error_lines(*log);
    e.hint = "the runtime's own messages are above; criu's log: " + (work_dir_ / criu::kRestoreLog).string();
    return fail(std::move(e));
  }

  Status runtime_restore() {
    running_ = GPUCR_TRY(host_.runtime.start(runtime_args()));
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
      // phase will require its CUDA processes to be found.
      if (auto now = proc::host_pid_for_nspid(host_.host.procs, init_pid_, r.nspid)) r.new_pid = *now;
      log::info("container " + id_ + ": " + r.comm + " pid " + std::to_string(r.nspid) + " in the container, host pid " +
                std::to_string(r.old_pid) + " -> " + (r.new_pid ? std::to_string(r.new_pid) : "gone"));
      processes_.push_back(r);
    }
    return {};
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
    return r;
  }

  const ContainerRestoreOptions& opts_;
  ContainerHost& host_;
  const std::string id_;
  Phases phases_;
  fs::path image_dir_;
  fs::path work_dir_;
  runtime::ContainerLock lock_;
  std::optional<pb::Manifest> manifest_;
  std::unique_ptr<runtime::Running> running_;
  std::optional<ExitStatus> runtime_exit_;
  pid_t init_pid_ = 0;
  std::vector<RestoredProcess> processes_;
};

}  // namespace

ContainerRestoreReport restore_container(const ContainerRestoreOptions& opts, ContainerHost& host) {
  return ContainerRestoreRun(opts, host).run();
}

}  // namespace gpucr
