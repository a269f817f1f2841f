#include "core/container_checkpoint.hpp"

#include "core/checkpoint.hpp"
#include "core/container_gpus.hpp"
#include "core/manifest.hpp"
#include "core/target.hpp"
#include "criu/args.hpp"
#include "criu/runner.hpp"
#include "runtime/container_id.hpp"
#include "runtime/lock.hpp"
#include "util/log.hpp"
#include "util/strings.hpp"
#include "version.hpp"

#include <sys/utsname.h>
#include <unistd.h>

namespace gpucr {

void fill_manifest_header(pb::Manifest& m, const criu::Binary& criu) {
  m.set_gpucr_version(kVersion);
  m.set_criu_version(criu.version.str());
  struct utsname u {};
  if (::uname(&u) == 0) {
    m.set_hostname(u.nodename);
    m.set_kernel(u.release);
  }
  m.set_created_unix_ms(std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count());
}

namespace {

class ContainerCheckpointRun {
 public:
  ContainerCheckpointRun(const ContainerCheckpointOptions& o, ContainerHost& h)
      : opts_(o), host_(h), id_(o.args.id), phases_(h.host.progress),
        image_dir_(runtime::effective_image_path(o.args.image_path, o.cwd)),
        work_dir_(o.args.work_path ? runtime::effective_image_path(o.args.work_path, o.cwd) : image_dir_) {}

  ContainerCheckpointReport run() {
    phases_.step("validate container", [&] { return validate(); });
    phases_.step("lock container", [&] { return lock(); });
    phases_.step("resolve container", [&] { return resolve(); });
    phases_.step("prepare image dir", [&] { return prepare_dirs(); });
    phases_.step("discover processes", [&] { return discover(); });
    phases_.step("container gpus", [&] { return container_gpus(); });
    // Freezer (issue 4) goes here: step "record cgroup state" (the freezer state of
    // cgroups_.freezer_v1 / cgroups_.unified: CRI-O and containerd pause the container before
    // they call `<runtime> checkpoint --leave-running`), then step "thaw for gpu" when the tree
    // has CUDA processes and the cgroup is frozen (a frozen process cannot be locked, FACTS §2).
    // GPU (issue 3) goes here: step "gpu lock+checkpoint": lock, then checkpoint, every CUDA
    // process of tree_, all processes in parallel, each call in a killable child with a deadline.
    phases_.step("runtime checkpoint", [&] { return runtime_checkpoint(); });
    // GPU (issue 3): always "gpu settle": when a step failed or --leave-running, restore+unlock
    // the CUDA processes locked above (in parallel), returning each to the state it had.
    // Freezer (issue 4): always "restore cgroup state": put the cgroup back into the state
    // recorded above (a container paused by its engine is paused again; runc/criu alone keep a
    // paused container paused, tests/integration/test_containers_runc.py checks that).
    phases_.step("write manifest", [&] { return write_manifest_phase(); });
    phases_.always("unlock container", [&] { return unlock(); });
    return report();
  }

 private:
  Status validate() {
    GPUCR_TRY(runtime::check_container_id(id_));
    if (::geteuid() != 0) {
      return fail(Error("checkpointing container " + id_ + " needs root privileges", Exit::not_permitted)
                      .with_hint("run gpucr as root (the runtime and criu need CAP_SYS_ADMIN)"));
    }
    return {};
  }

  Status lock() {
    lock_ = GPUCR_TRY(runtime::ContainerLock::acquire(host_.run_dir, id_, "checkpoint", opts_.lock_wait));
    return {};
  }

  Status resolve() {
    state_ = GPUCR_TRY(host_.runtime.state(id_));
    if ((state_.status != "running" && state_.status != "paused") || state_.pid <= 0) {
      return fail(Error("container " + id_ + " is " + state_.status + ", not running or paused", Exit::bad_input)
                      .with_hint("only a running (or paused) container can be checkpointed"));
    }
    auto text = GPUCR_TRY(host_.host.procs.cgroup(state_.pid));
    cgroups_ = runtime::parse_proc_cgroup(text);
    log::info("container " + id_ + ": init pid " + std::to_string(state_.pid) + ", " + state_.status +
              ", bundle " + state_.bundle.string());
    return {};
  }

  Status prepare_dirs() {
    if (!opts_.verbatim) {  // gpucr's own command: a fresh, private image directory
      GPUCR_TRY(make_private_dir(image_dir_, /*must_be_empty=*/true));
      if (work_dir_ != image_dir_) GPUCR_TRY(make_private_dir(work_dir_, /*must_be_empty=*/false));
      return {};
    }
    // An engine (the wrapper's case) owns its directories and may have filled them already:
    // made 0700 when missing, as the runtime would, and otherwise left exactly as they are.
    for (const fs::path& d : {image_dir_, work_dir_}) {
      std::error_code ec;
      if (!fs::exists(d, ec)) GPUCR_TRY(make_private_dir(d, /*must_be_empty=*/false));
    }
    return {};
  }

  Status discover() {
    tree_ = GPUCR_TRY(discover_tree(host_.host.procs, state_.pid));
    log::info("container " + id_ + ": " + std::to_string(tree_.size()) + " processes");
    return {};
  }

  Status container_gpus() {
    gpu_devices_ = GPUCR_TRY(container_gpu_devices(host_.run_dir, id_, state_.bundle, host_.gpus));
    return {};
  }

  std::vector<std::string> runtime_args() const {
    if (opts_.verbatim) return *opts_.verbatim;
    runtime::CheckpointArgs a = opts_.args;
    a.image_path = image_dir_;
    a.work_path = work_dir_;
    return runtime::checkpoint_argv(a);
  }

  Status runtime_checkpoint() {
    auto running = GPUCR_TRY(host_.runtime.start(runtime_args()));
    runtime_exit_ = runtime::wait_forwarding_signals(*running);
    if (runtime_exit_->success()) return {};
    Error e(host_.runtime.name() + " checkpoint of container " + id_ + " failed (" + runtime_exit_->describe() + ")");
    if (auto log = read_file(work_dir_ / criu::kDumpLog)) e.details = criu::error_lines(*log);
    e.hint = "the runtime's own messages are above; criu's log: " + (work_dir_ / criu::kDumpLog).string();
    return fail(std::move(e));
  }

  Status write_manifest_phase() {
    fill_manifest_header(manifest_, host_.host.criu.binary());
    auto* t = manifest_.mutable_target();
    t->set_root_pid(state_.pid);
    t->set_container_id(id_);
    t->set_runtime(host_.runtime.name());
    t->set_bundle(state_.bundle.string());
    record_processes(tree_, manifest_.mutable_processes());
    auto* f = manifest_.mutable_flags();
    f->set_leave_running(opts_.args.leave_running);
    f->set_tcp_established(opts_.args.tcp_established);
    f->set_shell_job(opts_.args.shell_job);
    f->set_ext_unix_sk(opts_.args.ext_unix_sk);
    f->set_file_locks(opts_.args.file_locks);
    auto* c = manifest_.mutable_container();
    c->set_id(id_);
    c->set_runtime(host_.runtime.name());
    c->set_runtime_path(host_.runtime.path().string());
    c->set_root(root_option());
    c->set_bundle(state_.bundle.string());
    c->set_status(state_.status);
    c->set_cgroup_freezer(cgroups_.freezer_v1);
    c->set_cgroup_unified(cgroups_.unified);
    for (const auto& g : gpu_devices_) *c->add_gpu_devices() = g;
    c->set_via_wrapper(opts_.verbatim.has_value());
    record_phases(phases_.timings(), manifest_.mutable_phases());
    return write_manifest(image_dir_, manifest_);
  }

  std::string root_option() const {
    auto g = host_.runtime.globals();
    for (size_t i = 0; i < g.size(); ++i) {
      if ((g[i] == "--root" || g[i] == "-root") && i + 1 < g.size()) return g[i + 1];
      if (g[i].rfind("--root=", 0) == 0) return g[i].substr(7);
    }
    return "";
  }

  Status unlock() {
    // After a checkpoint without --leave-running the runtime has removed the container: its
    // lock file goes too (poststop may have run inside the runtime and found it held).
    if (!phases_.failed() && !opts_.args.leave_running) {
      lock_.remove_file();
    } else {
      lock_.release();
    }
    return {};
  }

  ContainerCheckpointReport report() {
    ContainerCheckpointReport r;
    r.status = phases_.result();
    r.phases = phases_.timings();
    r.manifest = manifest_;
    r.image_dir = image_dir_;
    r.work_dir = work_dir_;
    r.image_bytes = dir_size(image_dir_).value_or(0);
    r.runtime_exit = runtime_exit_;
    return r;
  }

  const ContainerCheckpointOptions& opts_;
  ContainerHost& host_;
  const std::string id_;
  Phases phases_;
  fs::path image_dir_;
  fs::path work_dir_;
  runtime::ContainerLock lock_;
  runtime::ContainerState state_;
  runtime::CgroupPaths cgroups_;
  std::vector<proc::ProcInfo> tree_;
  std::vector<pb::GpuDevice> gpu_devices_;
  std::optional<ExitStatus> runtime_exit_;
  pb::Manifest manifest_;
};

}  // namespace

ContainerCheckpointReport checkpoint_container(const ContainerCheckpointOptions& opts, ContainerHost& host) {
  return ContainerCheckpointRun(opts, host).run();
}

}  // namespace gpucr
