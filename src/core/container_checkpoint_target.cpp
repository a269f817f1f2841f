// A container as the target of a checkpoint: `<runtime> checkpoint` dumps it (the runtime
// handles rootfs, mounts, namespaces and cgroups and runs criu itself; runc freezes the cgroup
// while criu dumps, harmless once the GPU state is checkpointed). gpucr's criu options and its
// post-dump hook reach that criu through a configuration file (core/container_target.hpp).
#include "core/container_gpus.hpp"
#include "core/container_target.hpp"
#include "core/target.hpp"
#include "criu/runner.hpp"
#include "runtime/argv.hpp"
#include "runtime/cgroup.hpp"
#include "runtime/container_id.hpp"
#include "runtime/lock.hpp"
#include "util/log.hpp"

#include <csignal>

namespace gpucr {

namespace {

class ContainerCheckpoint : public CheckpointTarget {
 public:
  ContainerCheckpoint(const CheckpointRequest& r, Host& h)
      : req_(r), c_(*r.container), host_(h), rt_(h.runtimes.open(c_.runtime, c_.globals)) {}

  std::string name() const override { return "container " + c_.id; }

  Status validate() override {
    GPUCR_TRY(runtime::check_container_id(c_.id));
    GPUCR_TRY(refuse_runtime_criu_options(req_.criu, name()));
    if (!host_.privileges.root()) {
      return fail(Error("checkpointing container " + c_.id + " needs root privileges", Exit::not_permitted)
                      .with_hint("run gpucr as root (the runtime and criu need CAP_SYS_ADMIN)"));
    }
    return {};
  }

  Status lock() override {
    lock_ = GPUCR_TRY(runtime::lock_container(host_.run, c_.id, "checkpoint", req_.lock_wait));
    return {};
  }

  Result<pid_t> resolve() override {
    state_ = GPUCR_TRY(rt_->state(c_.id));
    if ((state_.status != "running" && state_.status != "paused") || state_.pid <= 0) {
      return fail(Error("container " + c_.id + " is " + state_.status + ", not running or paused", Exit::bad_input)
                      .with_hint("only a running (or paused) container can be checkpointed"));
    }
    auto text = GPUCR_TRY(host_.procs.cgroup(state_.pid));
    cgroups_ = runtime::parse_proc_cgroup(text);
    log::info("container " + c_.id + ": init pid " + std::to_string(state_.pid) + ", " + state_.status + ", bundle " +
              state_.bundle.string());
    gpu_devices_ = GPUCR_TRY(container_gpu_devices(host_.run, c_.id, state_.bundle, host_.gpu_devices));
    return state_.pid;
  }

  std::optional<recovery::JournalContainer> journal_record() const override { return journal_container(c_); }
  bool engine_owns_dirs() const override { return c_.verbatim.has_value(); }
  std::string dump_phase() const override { return "runtime checkpoint"; }
  bool gpucr_runs_criu() const override { return false; }

  // SIGINT/SIGTERM/SIGHUP are not forwarded to the runtime: the post-dump hook abandons the dump,
  // the runtime leaves the container running and gpucr returns the GPU state (gpu settle).
  DumpResult dump(const DumpJob& j) override {
    DumpResult r{.criu_log = j.work_dir / criu::kDumpLog};
    std::vector<std::string> conf = {"action-script " + j.action_script.string(), "libdir " + j.plugin_dir.string()};
    if (req_.criu.timeout_s) conf.push_back("timeout " + std::to_string(*req_.criu.timeout_s));
    auto env = runtime_criu_env(*j.journal, host_.criu_config_file, conf);
    if (!env) {
      r.status = fail(std::move(env).error());
      return r;
    }
    auto running = rt_->start(runtime_args(j), *env, j.started);
    if (!running) {
      r.status = fail(std::move(running).error());
      return r;
    }
    for (;;) {
      int wake = j.actions ? j.actions->fd() : -1;
      if (auto st = (*running)->wait_until(Clock::now() + std::chrono::milliseconds(200), wake)) {
        r.runtime_exit = *st;
        break;
      }
      if (j.actions && j.on_action) j.actions->serve(j.on_action);
      if (j.tick) j.tick();
      if (!j.stop) continue;
      if (auto why = j.stop()) {  // the runtime and its criu are one process group
        (*running)->kill_group(SIGKILL);
        r.runtime_exit = (*running)->wait_until(Clock::now() + std::chrono::seconds(10));
        r.status = fail(Error(rt_->name() + " checkpoint of container " + c_.id + " stopped by gpucr: " + *why)
                            .with_hint("gpucr killed the runtime and its criu (SIGKILL); the container's tasks resumed "
                                       "and gpucr rolled back; criu's log: " + r.criu_log.string()));
        return r;
      }
    }
    if (!r.runtime_exit->success()) r.status = fail(runtime_failure(*rt_, "checkpoint", c_.id, *r.runtime_exit, r.criu_log));
    return r;
  }

  void record(pb::Manifest& m) const override {
    auto* t = m.mutable_target();
    t->set_root_pid(state_.pid);
    t->set_container_id(c_.id);
    t->set_runtime(rt_->name());
    t->set_bundle(state_.bundle.string());
    auto* c = m.mutable_container();
    c->set_id(c_.id);
    c->set_runtime(rt_->name());
    c->set_runtime_path(rt_->path().string());
    c->set_root(root_option());
    c->set_bundle(state_.bundle.string());
    c->set_status(state_.status);
    c->set_cgroup_freezer(cgroups_.freezer_v1);
    c->set_cgroup_unified(cgroups_.unified);
    for (const auto& g : gpu_devices_) *c->add_gpu_devices() = g;
    c->set_via_wrapper(c_.verbatim.has_value());
  }

  // A container that was paused must be reported paused by its runtime again (runc derives
  // "paused" from the freezer; any other runtime is asked to pause it).
  Status after_freezer(bool dumped) override {
    if (state_.status != "paused" || (dumped && !req_.leave_running)) return {};
    auto now = rt_->state(c_.id);
    if (!now || now->status == "paused") return {};
    log::info("container " + c_.id + " is " + now->status + " after the checkpoint; pausing it again");
    auto st = runtime::run_to_end(*rt_, {"pause", c_.id}, std::chrono::seconds(30));
    if (st) return {};
    return fail(std::move(st).error()
                    .context("container " + c_.id + " was paused before the checkpoint and could not be paused again")
                    .with_exit(Exit::rollback_incomplete)
                    .with_hint("pause it by hand: " + rt_->name() + " pause " + c_.id));
  }

  // After a checkpoint without --leave-running the runtime has removed the container: its lock
  // file goes too (poststop may have run inside the runtime and found it held).
  void unlock(bool dumped) override {
    if (dumped && !req_.leave_running) {
      lock_.remove_file();
    } else {
      lock_.release();
    }
  }

 private:
  std::vector<std::string> runtime_args(const DumpJob& j) const {
    if (c_.verbatim) return *c_.verbatim;
    runtime::CheckpointArgs a{.id = c_.id,
                              .image_path = j.image_dir,
                              .work_path = j.work_dir,
                              .leave_running = req_.leave_running,
                              .tcp_established = req_.criu.tcp_established,
                              .ext_unix_sk = req_.criu.ext_unix_sk,
                              .shell_job = req_.criu.shell_job,
                              .file_locks = req_.criu.file_locks,
                              .manage_cgroups_mode = req_.criu.manage_cgroups_mode};
    return runtime::checkpoint_argv(a);
  }

  std::string root_option() const {
    const auto& g = c_.globals;
    for (size_t i = 0; i < g.size(); ++i) {
      if ((g[i] == "--root" || g[i] == "-root") && i + 1 < g.size()) return g[i + 1];
      if (g[i].rfind("--root=", 0) == 0) return g[i].substr(7);
    }
    return "";
  }

  const CheckpointRequest& req_;
  const ContainerRef& c_;
  Host& host_;
  std::unique_ptr<runtime::Runtime> rt_;
  runtime::ContainerLock lock_;
  runtime::ContainerState state_;
  runtime::CgroupPaths cgroups_;
  std::vector<pb::GpuDevice> gpu_devices_;
};

}  // namespace

std::unique_ptr<CheckpointTarget> make_container_checkpoint(const CheckpointRequest& req, Host& host) {
  return std::make_unique<ContainerCheckpoint>(req, host);
}

}  // namespace gpucr
