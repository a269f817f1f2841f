#include "core/container_checkpoint.hpp"

#include "core/checkpoint.hpp"
#include "core/container_gpus.hpp"
#include "core/gpu_checkpoint.hpp"
#include "core/manifest.hpp"
#include "core/target.hpp"
#include "criu/args.hpp"
#include "criu/inventory.hpp"
#include "criu/plugins.hpp"
#include "criu/runner.hpp"
#include "runtime/container_id.hpp"
#include "runtime/lock.hpp"
#include "util/log.hpp"
#include "util/signals.hpp"
#include "util/strings.hpp"

#include <unistd.h>

#include <cstring>

namespace gpucr {

namespace {

class ContainerCheckpointRun {
 public:
  ContainerCheckpointRun(const ContainerCheckpointOptions& o, ContainerHost& h)
      : opts_(o), host_(h), id_(o.args.id), phases_(h.host.progress),
        dirs_(container_dirs(o.args.image_path, o.args.work_path, o.cwd)),
        gpu_(o.cuda, h.host) {}

  ContainerCheckpointReport run() {
    phases_.step("validate container", [&] { return validate(); });
    phases_.step("lock container", [&] { return lock(); });
    phases_.step("resolve container", [&] { return resolve(); });
    phases_.step("discover processes", [&] { return discover(); });
    phases_.step("container gpus", [&] { return container_gpus(); });
    // CRI-O and containerd pause the container (its freezer cgroup) before they call
    // `<runtime> checkpoint --leave-running`: a frozen process can't be locked (FACTS §2).
    phases_.step("record freezer state", [&] { return gpu_.record_freezer(state_.pid, tree_); });
    phases_.step("arm recovery", [&] { return gpu_.arm_recovery(journal_container(host_, id_)); });
    phases_.step("thaw for GPU", [&] { return thaw_for_gpu(); });
    phases_.step("find CUDA processes", [&] { return gpu_.classify(); });
    phases_.step("preflight", [&] { return gpu_.preflight(dirs_.image, tree_); });
    phases_.step("prepare image dir", [&] { return prepare_dirs(); });
    phases_.step("gpu lock", [&] { return gpu_.lock(); });
    phases_.step("gpu checkpoint", [&] { return gpu_.checkpoint(); });
    phases_.step("runtime checkpoint", [&] { return runtime_checkpoint(); });
    // Once the runtime dumped the container the image is finished, whatever else happens.
    phases_.always("record plugins", [&] { return record_plugins(); });
    phases_.always("write manifest", [&] { return dumped_ ? write_manifest_phase() : Status{}; });
    phases_.always("gpu settle", [&] { return gpu_.settle(dumped_, opts_.args.leave_running); });
    // After the GPU settle: no GPU call may reach a paused-again container.
    phases_.always("restore freezer state", [&] { return restore_freezer(); });
    phases_.always("finish journal", [&] { return gpu_.finish(phases_); });
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
      GPUCR_TRY(make_private_dir(dirs_.image, /*must_be_empty=*/true));
      if (dirs_.work != dirs_.image) GPUCR_TRY(make_private_dir(dirs_.work, /*must_be_empty=*/false));
      return {};
    }
    // An engine (the wrapper's case) owns its directories and may have filled them already:
    // made 0700 when missing, as the runtime would, and otherwise left exactly as they are.
    for (const fs::path& d : {dirs_.image, dirs_.work}) {
      std::error_code ec;
      if (!fs::exists(d, ec)) GPUCR_TRY(make_private_dir(d, /*must_be_empty=*/false));
    }
    return {};
  }

  Status discover() {
    tree_ = GPUCR_TRY(discover_tree(host_.host.procs, state_.pid));
    log::info("container " + id_ + ": " + std::to_string(tree_.size()) + " processes");
    gpu_.find_candidates(tree_);
    return {};
  }

  Status thaw_for_gpu() {
    GPUCR_TRY(gpu_.thaw_for_gpu());
    if (gpu_.thawed()) {
      host_.host.progress.note("container " + id_ + " is paused: thawed " + gpu_.freezer().cgroup()->describe() +
                               " for the GPU steps; it is paused again at the end");
    }
    return {};
  }

  // The freezer back to its state at the start. A container that was paused must be reported
  // paused by its runtime again (runc derives "paused" from the freezer; any other runtime is
  // asked to pause it).
  Status restore_freezer() {
    GPUCR_TRY(gpu_.restore_freezer());
    if (state_.status != "paused" || (dumped_ && !opts_.args.leave_running)) return {};
    auto now = host_.runtime.state(id_);
    if (!now || now->status == "paused") return {};
    log::info("container " + id_ + " is " + now->status + " after the checkpoint; pausing it again");
    auto st = runtime::run_to_end(host_.runtime, {"pause", id_}, std::chrono::seconds(30));
    if (st) return {};
    return fail(std::move(st).error()
                    .context("container " + id_ + " was paused before the checkpoint and could not be paused again")
                    .with_exit(Exit::rollback_incomplete)
                    .with_hint("pause it by hand: " + host_.runtime.name() + " pause " + id_));
  }

  // The CRIU names of the GPU state the image holds, for the inventory's plugins field.
  std::vector<std::string> gpu_plugins() const {
    if (gpu_.cuda().empty()) return {};
    return {criu::kCudaPlugin};
  }

  Status record_plugins() {
    if (!dumped_) return {};
    auto st = criu::record_plugins(dirs_.image, gpu_plugins());
    if (st) return {};
    return fail(std::move(st).error()
                    .context("container " + id_)
                    .with_hint(host_.runtime.name() + " checkpoint reported success: check that it wrote a CRIU image into " +
                               dirs_.image.string()));
  }

  Status container_gpus() {
    gpu_devices_ = GPUCR_TRY(container_gpu_devices(host_.run_dir, id_, state_.bundle, host_.gpus));
    return {};
  }

  std::vector<std::string> runtime_args() const {
    if (opts_.verbatim) return *opts_.verbatim;
    runtime::CheckpointArgs a = opts_.args;
    a.image_path = dirs_.image;
    a.work_path = dirs_.work;
    return runtime::checkpoint_argv(a);
  }

  // With CUDA processes the runtime's criu gets gpucr's post-dump hook (criu_hook.hpp) through
  // its environment, and SIGINT/SIGTERM/SIGHUP are not forwarded: the hook abandons the dump, the
  // runtime leaves the container running and gpucr returns the GPU state (gpu settle).
  Status runtime_checkpoint() {
    auto env = GPUCR_TRY(gpu_.runtime_dump_env());
    gpu_.begin_dump("runtime checkpoint");
    auto running = GPUCR_TRY(host_.runtime.start(runtime_args(), env, [&](pid_t pid) { gpu_.dump_started(pid); }));
    runtime_exit_ = wait_for_runtime(*running);
    if (runtime_exit_->success()) {
      dumped_ = true;
      if (signals::cancel_requested()) {
        host_.host.progress.note(std::string("received SIG") + sigabbrev_np(signals::cancel_signal()) +
                                 " during the runtime checkpoint, which can't be interrupted safely: it completed");
      }
      return {};
    }
    Error e = runtime_failure(host_, "checkpoint", id_, *runtime_exit_, dirs_.work / criu::kDumpLog);
    if (gpu_.dump_abandoned()) {
      e.what = std::string("interrupted by SIG") + sigabbrev_np(signals::cancel_signal()) +
               " during runtime checkpoint: gpucr's post-dump hook abandoned the dump (" + e.what + ")";
    }
    return fail(std::move(e));
  }

  ExitStatus wait_for_runtime(runtime::Running& r) {
    if (!gpu_.guarded()) return runtime::wait_forwarding_signals(r);
    for (;;) {
      if (auto st = r.wait_until(Clock::now() + std::chrono::milliseconds(100))) return *st;
      gpu_.propagate_cancel();
    }
  }

  Status write_manifest_phase() {
    fill_manifest_header(manifest_, host_.host.criu.binary().version.str());
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
    gpu_.record(manifest_);  // CUDA records and the freezer record
    record_phases(phases_.timings(), manifest_.mutable_phases());
    return write_manifest(dirs_.image, manifest_);
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
    if (dumped_ && !opts_.args.leave_running) {
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
    r.image_dir = dirs_.image;
    r.work_dir = dirs_.work;
    r.image_bytes = dir_size(dirs_.image).value_or(0);
    r.runtime_exit = runtime_exit_;
    r.cuda_report = gpu_.cuda().report_lines();
    return r;
  }

  const ContainerCheckpointOptions& opts_;
  ContainerHost& host_;
  const std::string id_;
  Phases phases_;
  ContainerDirs dirs_;
  runtime::ContainerLock lock_;
  runtime::ContainerState state_;
  runtime::CgroupPaths cgroups_;
  std::vector<proc::ProcInfo> tree_;
  std::vector<pb::GpuDevice> gpu_devices_;
  std::optional<ExitStatus> runtime_exit_;
  pb::Manifest manifest_;
  GpuCheckpoint gpu_;
  bool dumped_ = false;
};

}  // namespace

ContainerCheckpointReport checkpoint_container(const ContainerCheckpointOptions& opts, ContainerHost& host) {
  return ContainerCheckpointRun(opts, host).run();
}

}  // namespace gpucr
