#include "core/checkpoint.hpp"

#include "core/criu_hook.hpp"
#include "core/gpu_checkpoint.hpp"
#include "core/amd_checkpoint.hpp"
#include "core/manifest.hpp"
#include "core/target.hpp"
#include "criu/inventory.hpp"
#include "util/log.hpp"
#include "util/signals.hpp"
#include "util/strings.hpp"
#include <cstring>
#include <unistd.h>

namespace gpucr {

void record_phases(const std::vector<PhaseTiming>& phases, google::protobuf::RepeatedPtrField<pb::Phase>* out) {
  for (const auto& t : phases) {
    auto* p = out->Add();
    p->set_name(t.name);
    p->set_duration_us(std::chrono::duration_cast<std::chrono::microseconds>(t.took).count());
    p->set_ok(t.ok);
  }
}

namespace {

class CheckpointRun {
 public:
  CheckpointRun(const CheckpointOptions& o, Host& h)
      : opts_(o),
        host_(h),
        phases_(h.progress),
        work_dir_(o.work_dir.value_or(o.image_dir)),
        gpu_(o.cuda, h),
        amd_(h.amd, o.amd, h.procs) {}

  CheckpointReport run() {
    phases_.step("validate target", [&] { return validate_target(); });
    phases_.step("discover processes", [&] { return discover_processes(); });
    phases_.step("amd: detect", [&] { return amd_.detect(tree_); });
    if (amd_.active()) phases_.step("amd: preflight", [&] { return amd_.preflight(); });
    phases_.step("record freezer state", [&] { return record_freezer(); });
    phases_.step("arm recovery", [&] { return gpu_.arm_recovery(); });
    phases_.step("thaw for GPU", [&] { return thaw_for_gpu(); });
    phases_.step("find CUDA processes", [&] { return gpu_.classify(); });
    phases_.step("preflight", [&] { return gpu_.preflight(opts_.image_dir, tree_); });
    phases_.step("prepare image dir", [&] { return prepare_dirs(); });
    phases_.step("gpu lock", [&] { return gpu_.lock(); });
    phases_.step("gpu checkpoint", [&] { return gpu_.checkpoint(); });
    phases_.step("criu dump", [&] { return criu_dump(); }, [&] { return image_size_detail(); });
    // Once criu dumped (and, without --leave-running, killed) the tree, the image is finished
    // whatever else happens: these run even after a cancellation request.
    phases_.always("record plugins", [&] { return dumped_ ? criu::record_plugins(opts_.image_dir, gpu_plugins()) : Status{}; });
    phases_.always("write manifest", [&] { return dumped_ ? write_manifest_phase() : Status{}; });
    phases_.always("gpu settle", [&] { return gpu_.settle(dumped_, opts_.leave_running); });
    // After the GPU settle: no GPU call may reach a refrozen process.
    phases_.always("restore freezer state", [&] { return gpu_.restore_freezer(); });
    phases_.always("finish journal", [&] { return gpu_.finish(phases_); });
    return report();
  }

 private:
  Status validate_target() {
    root_ = GPUCR_TRY(validate_root(host_.procs, opts_.pid));
    // Refuse a used image directory now, before anything changes; it is created later.
    if (fs::exists(opts_.image_dir)) {
      if (!fs::is_directory(opts_.image_dir)) {
        return fail(Error(opts_.image_dir.string() + " exists and is not a directory", Exit::bad_input));
      }
      if (!list_dir(opts_.image_dir).value_or(std::vector<std::string>{"?"}).empty()) {
        GPUCR_TRY(make_private_dir(opts_.image_dir, /*must_be_empty=*/true));  // its error names the entries
      }
    }
    if (::geteuid() != 0) {
      return fail(Error("checkpointing pid " + std::to_string(opts_.pid) + " needs root privileges", Exit::not_permitted)
                      .with_hint("run gpucr as root (criu needs CAP_SYS_ADMIN or CAP_CHECKPOINT_RESTORE)"));
    }
    return {};
  }

  Status prepare_dirs() {
    GPUCR_TRY(make_private_dir(opts_.image_dir, /*must_be_empty=*/true));
    if (work_dir_ != opts_.image_dir) GPUCR_TRY(make_private_dir(work_dir_, /*must_be_empty=*/false));
    return {};
  }

  Status discover_processes() {
    tree_ = GPUCR_TRY(discover_tree(host_.procs, opts_.pid));
    log::info("process tree of pid " + std::to_string(opts_.pid) + ": " + std::to_string(tree_.size()) + " processes");
    gpu_.find_candidates(tree_);
    return {};
  }

  Status record_freezer() {
    GPUCR_TRY(gpu_.record_freezer(opts_.pid, tree_, opts_.freeze_cgroup));
    freeze_cgroup_ = opts_.freeze_cgroup;
    const auto& fz = gpu_.freezer();
    if (!freeze_cgroup_ && fz.was_frozen()) {
      // ptrace alone can't seize frozen tasks (criu would time out); criu's freezer handling
      // seizes them in place and puts the cgroup back to FROZEN itself.
      freeze_cgroup_ = fz.cgroup()->dir;
      host_.progress.note("the tree's " + fz.cgroup()->describe() +
                          " is frozen: criu seizes it with --freeze-cgroup, without thawing it");
    }
    return {};
  }

  // A tree that may use CUDA must run: gpucr thaws its cgroup (recording that first, in the
  // journal) and criu then seizes it with ptrace only (interrupt-only mode, no --freeze-cgroup).
  Status thaw_for_gpu() {
    GPUCR_TRY(gpu_.thaw_for_gpu());
    if (gpu_.thawed()) {
      interrupt_only_ = true;
      host_.progress.note("thawed " + gpu_.freezer().cgroup()->describe() +
                          " for the GPU steps; criu seizes the tree with ptrace only; the cgroup is frozen again at the end");
    }
    return {};
  }

  // The CRIU names of the GPU state the image holds, for the inventory's plugins field.
  std::vector<std::string> gpu_plugins() const {
    std::vector<std::string> names;
    if (!gpu_.cuda().empty()) names.push_back(criu::kCudaPlugin);
    for (const auto& n : amd_.criu_plugins()) names.push_back(n);
    return names;
  }

  Status criu_dump() {
    criu::DumpFlags f;
    static_cast<criu::CommonFlags&>(f) = opts_.criu_flags;
    f.pid = opts_.pid;
    f.image_dir = opts_.image_dir;
    f.work_dir = work_dir_;
    f.leave_running = opts_.leave_running;
    f.timeout_s = opts_.timeout_s;
    f.freeze_cgroup = freeze_cgroup_;
    f.interrupt_only = interrupt_only_;
    plugins_ = GPUCR_TRY(criu::PluginDir::create(work_dir_, amd_.plugin_files()));
    f.plugin_dir = plugins_.path();  // exactly the plugins this tree needs (core/criu_plugins.hpp)
    criu::Invocation inv{criu::dump_args(f), work_dir_ / criu::kDumpLog, {}, {}};
    if (gpu_.guarded()) {
      // The post-dump hook refuses to let criu kill a tree gpucr has abandoned.
      f.action_script = GPUCR_TRY(action_script_path(host_.self_exe));
      inv.args = criu::dump_args(f);
      inv.env[kJournalEnv] = gpu_.journal().path().string();
      gpu_.begin_dump("criu dump");
      inv.tick = [&] { gpu_.propagate_cancel(); };
    }
    auto ran = host_.criu.run(inv, [&](pid_t pid) { gpu_.dump_started(pid); });
    (void)plugins_.remove();
    auto out = GPUCR_TRY(std::move(ran));
    if (!out.status.success()) {
      Error e("criu dump of pid " + std::to_string(opts_.pid) + " failed (" + out.status.describe() + ")");
      if (gpu_.dump_abandoned()) {
        e.what = std::string("interrupted by SIG") + sigabbrev_np(signals::cancel_signal()) +
                 " during criu dump: gpucr's post-dump hook abandoned the dump (" + e.what + ")";
      }
      e.details = out.error_lines;
      e.hint = "criu's log: " + inv.log.string() +
               (opts_.leave_running ? "" : "; the process tree was resumed and keeps running") +
               "; checkpoint again into a new or emptied image directory (" + opts_.image_dir.string() +
               " holds the failed attempt)";
      return fail(std::move(e));
    }
    dumped_ = true;
    if (signals::cancel_requested()) {
      host_.progress.note(std::string("received SIG") + sigabbrev_np(signals::cancel_signal()) +
                          " during the criu dump, which can't be interrupted safely: it completed and the image is whole");
    }
    return {};
  }

  Status write_manifest_phase() {
    // criu writes stats-dump into its work dir; keep a copy with the images for `gpucr inspect`.
    if (work_dir_ != opts_.image_dir) {
      if (auto stats = read_file(work_dir_ / "stats-dump")) {
        GPUCR_TRY(write_file_atomic(opts_.image_dir / "stats-dump", *stats, 0600));
      }
    }
    fill_manifest();
    return write_manifest(opts_.image_dir, manifest_);
  }

  void fill_manifest() {
    fill_manifest_header(manifest_, host_.criu.binary().version.str());
    manifest_.mutable_target()->set_root_pid(opts_.pid);
    record_processes(tree_, manifest_.mutable_processes());
    amd_.record(opts_.image_dir, manifest_);
    auto* flags = manifest_.mutable_flags();
    flags->set_leave_running(opts_.leave_running);
    flags->set_tcp_established(opts_.criu_flags.tcp_established);
    flags->set_shell_job(opts_.criu_flags.shell_job);
    flags->set_ext_unix_sk(opts_.criu_flags.ext_unix_sk);
    flags->set_file_locks(opts_.criu_flags.file_locks);
    gpu_.record(manifest_);  // CUDA records and the freezer record
    // Timings of every phase so far; "write manifest" itself is not in the file.
    record_phases(phases_.timings(), manifest_.mutable_phases());
  }

  std::string image_size_detail() const {
    auto n = dir_size(opts_.image_dir);
    return n ? format_bytes(*n) + " written" : std::string();
  }

  CheckpointReport report() {
    CheckpointReport r;
    r.status = phases_.result();
    r.phases = phases_.timings();
    r.manifest = manifest_;
    r.image_dir = opts_.image_dir;
    r.criu_log = work_dir_ / criu::kDumpLog;
    r.image_bytes = dir_size(opts_.image_dir).value_or(0);
    r.cuda_report = gpu_.cuda().report_lines();
    r.criu_plugins = amd_.criu_plugins();
    return r;
  }

  const CheckpointOptions& opts_;
  Host& host_;
  Phases phases_;
  fs::path work_dir_;
  GpuCheckpoint gpu_;
  proc::ProcInfo root_;
  std::vector<proc::ProcInfo> tree_;
  bool dumped_ = false;
  pb::Manifest manifest_;
  std::optional<fs::path> freeze_cgroup_;  // what criu gets as --freeze-cgroup
  bool interrupt_only_ = false;            // set by thaw_for_gpu
  AmdCheckpoint amd_;
  criu::PluginDir plugins_;
};

}  // namespace

CheckpointReport checkpoint(const CheckpointOptions& opts, Host& host) { return CheckpointRun(opts, host).run(); }

}  // namespace gpucr
