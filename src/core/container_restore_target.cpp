// A container as the target of a restore: `<runtime> restore` re-creates it (rootfs, mounts,
// namespaces, cgroups) and runs criu itself. Inside the container's pid namespace its processes
// keep their pids; on the host they get new ones, found through NSpid (map_pids). A restore is
// all or nothing: a container whose GPU state could not be restored is killed and deleted.
#include "core/container_gpus.hpp"
#include "core/container_target.hpp"
#include "core/restore.hpp"
#include "core/target.hpp"
#include "criu/runner.hpp"
#include "runtime/argv.hpp"
#include "runtime/container_id.hpp"
#include "runtime/lock.hpp"
#include "util/log.hpp"
#include "util/signals.hpp"
#include "util/strings.hpp"

#include <csignal>

namespace gpucr {

namespace {

class ContainerRestore : public RestoreTarget {
 public:
  ContainerRestore(const RestoreRequest& r, Host& h)
      : req_(r), c_(*r.container), host_(h), rt_(h.runtimes.open(c_.runtime, c_.globals)) {}

  std::string name() const override { return "container " + c_.id; }

  Status validate() override {
    GPUCR_TRY(runtime::check_container_id(c_.id));
    GPUCR_TRY(refuse_runtime_criu_options(req_.criu, name()));
    if (!host_.privileges.root()) {
      return fail(Error("restoring container " + c_.id + " needs root privileges", Exit::not_permitted)
                      .with_hint("run gpucr as root"));
    }
    return {};
  }

  Status lock() override {
    lock_ = GPUCR_TRY(runtime::lock_container(host_.run, c_.id, "restore", req_.lock_wait));
    return {};
  }

  std::optional<recovery::JournalContainer> journal_record() const override { return journal_container(c_); }
  std::string restore_pidfile() const override { return ""; }
  bool needs_dumped_pids() const override { return false; }
  bool reuses_cgroup() const override { return false; }
  std::string restore_phase() const override { return "runtime restore"; }
  bool gpucr_runs_criu() const override { return false; }

  Result<pid_t> restore(const RestoreJob& j, const std::optional<pb::Manifest>&) override {
    auto env = GPUCR_TRY(runtime_criu_env(*j.journal, host_.criu_config_file, {"libdir " + j.plugin_dir.string()}));
    for (const auto& [k, v] : j.env) env[k] = v;
    running_ = GPUCR_TRY(rt_->start(runtime_args(j), env, j.started));
    restored_ = true;  // from here on a failure removes what the runtime made
    if (req_.detach) {
      runtime_exit_ = wait_detached(j);
      running_.reset();
      if (!runtime_exit_) return fail(Error("runtime restore of container " + c_.id + " stopped by gpucr: " + stopped_));
      if (!runtime_exit_->success()) return fail(failed(*runtime_exit_, j));
    } else {
      GPUCR_TRY(wait_until_running(j));
    }
    auto s = GPUCR_TRY(rt_->state(c_.id));
    if (s.pid <= 0) return fail(Error("container " + c_.id + " has no init process after its restore"));
    return s.pid;
  }

  Status map_pids(pid_t init, const std::optional<pb::Manifest>& m) override {
    if (!m) return {};
    for (const auto& p : m->processes()) {
      RestoredProcess r{p.pid(), p.nspid().empty() ? p.pid() : p.nspid(p.nspid_size() - 1), 0, p.comm()};
      // A process may have ended since the restore (the tree runs again): it maps to 0. The GPU
      // phase requires its CUDA processes to be found.
      if (auto now = proc::host_pid_for_nspid(host_.procs, init, r.nspid)) r.new_pid = *now;
      log::info("container " + c_.id + ": " + r.comm + " pid " + std::to_string(r.nspid) + " in the container, host pid " +
                std::to_string(r.old_pid) + " -> " + (r.new_pid ? std::to_string(r.new_pid) : "gone"));
      processes_.push_back(r);
    }
    return {};
  }

  Result<bool> freeze_again(pid_t, const std::optional<pb::Manifest>& m) override {
    bool was_paused = m && m->has_container() && m->container().status() == "paused";
    if (!was_paused) {
      host_.progress.note("container " + c_.id + " was running at checkpoint: it runs");
      return false;
    }
    GPUCR_TRY(runtime::run_to_end(*rt_, {"pause", c_.id}, std::chrono::seconds(30)));
    return true;
  }

  Status publish(pid_t) override { return {}; }  // the runtime wrote --pid-file itself

  std::string remove_restored(pid_t) override {
    if (!restored_) return "";
    if (auto s = rt_->state(c_.id); !s) return "";  // the runtime removed it already
    (void)runtime::run_to_end(*rt_, {"kill", c_.id, "KILL"}, std::chrono::seconds(30));
    if (running_) {  // foreground: the runtime ends with the container
      if (!running_->wait_until(Clock::now() + std::chrono::seconds(30))) running_->kill(SIGKILL);
      running_.reset();
    }
    auto del = runtime::run_to_end(*rt_, {"delete", "--force", c_.id}, std::chrono::seconds(30));
    if (!del) log::warn(del.error().what);
    return "killed and deleted the restored container " + c_.id + "; the images are unchanged";
  }

  void unlock() override { lock_.release(); }

  void report(RestoreReport& r) override {
    r.processes = processes_;
    r.runtime_exit = runtime_exit_;
    r.running = std::move(running_);
  }

 private:
  Error failed(const ExitStatus& st, const RestoreJob& j) const {
    return runtime_failure(*rt_, "restore", c_.id, st, j.work_dir / criu::kRestoreLog);
  }

  // With an image view the runtime restores from it (criu would refuse "cuda_plugin"); its logs
  // still go to the work path (the image dir when none was given).
  std::vector<std::string> runtime_args(const RestoreJob& j) const {
    bool view = j.image_dir != req_.image_dir;
    if (c_.verbatim) {
      if (!view) return *c_.verbatim;
      std::optional<fs::path> work;
      if (!req_.work_dir) work = j.work_dir;
      return runtime::with_image_path(*c_.verbatim, j.image_dir, work);
    }
    runtime::RestoreArgs a{.id = c_.id,
                           .image_path = j.image_dir,
                           .work_path = j.work_dir,
                           .bundle = c_.bundle,
                           .detach = req_.detach,
                           .pid_file = req_.pid_file,
                           .console_socket = c_.console_socket,
                           .tcp_established = j.criu.tcp_established,
                           .ext_unix_sk = j.criu.ext_unix_sk,
                           .shell_job = j.criu.shell_job,
                           .file_locks = j.criu.file_locks,
                           .manage_cgroups_mode = j.criu.manage_cgroups_mode};
    return runtime::restore_argv(a);
  }

  // The detached restore to its end, unless `j.stop` says to stop it (then nullopt, and the
  // runtime and its criu are killed). SIGINT/SIGTERM/SIGHUP are not forwarded: a restore can't
  // be interrupted, gpucr removes what it made instead.
  std::optional<ExitStatus> wait_detached(const RestoreJob& j) {
    for (;;) {
      if (auto st = running_->wait_until(Clock::now() + std::chrono::milliseconds(100))) return st;
      if (j.stop) {
        if (auto why = j.stop()) {
          stopped_ = *why;
          running_->kill_group(SIGKILL);
          running_->wait_until(Clock::now() + std::chrono::seconds(10));
          return std::nullopt;
        }
      }
    }
  }

  // Foreground: the runtime keeps running as the container's parent, so "restored" is when its
  // state says running (or the runtime has ended, successfully or not).
  Status wait_until_running(const RestoreJob& j) {
    auto deadline = Clock::now() + req_.start_wait;
    for (;;) {
      if (auto st = running_->wait_until(Clock::now() + std::chrono::milliseconds(100))) {
        runtime_exit_ = *st;
        running_.reset();
        if (!st->success()) return fail(failed(*st, j));
        return fail(Error("container " + c_.id + " ended right after its restore (" + st->describe() + ")"));
      }
      if (int sig = signals::cancel_signal()) {
        running_->kill(sig);
        signals::clear();
      }
      auto s = rt_->state(c_.id);
      if (s && (s->status == "running" || s->status == "paused") && s->pid > 0) return {};
      if (Clock::now() >= deadline) {
        return fail(Error("container " + c_.id + " was not running " + format_duration(req_.start_wait) + " after " +
                          rt_->name() + " restore began"));
      }
    }
  }

  const RestoreRequest& req_;
  const ContainerRef& c_;
  Host& host_;
  std::unique_ptr<runtime::Runtime> rt_;
  runtime::ContainerLock lock_;
  std::unique_ptr<runtime::Running> running_;
  std::optional<ExitStatus> runtime_exit_;
  bool restored_ = false;
  std::string stopped_;
  std::vector<RestoredProcess> processes_;
};

}  // namespace

std::unique_ptr<RestoreTarget> make_container_restore(const RestoreRequest& req, Host& host) {
  return std::make_unique<ContainerRestore>(req, host);
}

}  // namespace gpucr
