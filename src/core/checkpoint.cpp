#include "core/checkpoint.hpp"

#include "core/amd_checkpoint.hpp"
#include "core/criu_deadline.hpp"
#include "core/gpu_checkpoint.hpp"
#include "core/manifest.hpp"
#include "core/requirements.hpp"
#include "core/target.hpp"
#include "core/thp_staging.hpp"
#include "core/tree.hpp"
#include "criu/inventory.hpp"
#include "recovery/action_hook.hpp"
#include "recovery/recover.hpp"
#include "util/log.hpp"
#include "util/signals.hpp"
#include "util/strings.hpp"

#include <google/protobuf/util/message_differencer.h>

#include <cstring>

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
  CheckpointRun(const CheckpointRequest& r, Host& h)
      : req_(r),
        host_(h),
        phases_(h.progress),
        target_(make_checkpoint_target(r, h)),
        work_dir_(r.work_dir.value_or(r.image_dir)),
        gpu_(r.cuda, h),
        amd_(h.amd, r.criu.plugins_dir, h.procs),
        thp_(r.thp_window, h) {}

  CheckpointReport run() {
    phases_.step("validate target", [&] { return validate(); });
    phases_.step("finish abandoned operations", [&] { return finish_abandoned(); });
    phases_.step("lock target", [&] { return target_->lock(); });
    phases_.step("resolve target", [&] { return resolve(); });
    phases_.step("discover processes", [&] { return discover_processes(); });
    phases_.step("amd: detect", [&] { return amd_.detect(tree_, target_->name()); });
    if (amd_.active()) phases_.step("amd: preflight", [&] { return amd_.preflight(); });
    phases_.step("record freezer state", [&] { return record_freezer(); });
    phases_.step("arm recovery", [&] { return gpu_.arm_recovery(target_->journal_record()); });
    phases_.step("thaw for GPU", [&] { return thaw_for_gpu(); });
    phases_.step("find CUDA processes", [&] { return gpu_.classify(); });
    phases_.step("preflight", [&] { return gpu_.preflight(req_.image_dir, tree_); });
    phases_.step("prepare image dir", [&] { return prepare_dirs(); });
    // Huge pages while the GPU state is staged and criu dumps it (core/thp_staging.hpp).
    if (thp_.wanted()) phases_.step("open THP window", [&] { return thp_.open(gpu_.journal()); });
    phases_.step("gpu lock", [&] { return gpu_.lock(); });
    phases_.step("gpu checkpoint", [&] { return gpu_.checkpoint(); });
    // The dump completes the image at criu's post-dump action (complete_image), before criu
    // ends the tree: a gpucr killed after that leaves an image a restore takes whole.
    phases_.step(target_->dump_phase(), [&] { return dump(); }, [&] { return image_size_detail(); });
    if (thp_.wanted()) phases_.always("close THP window", [&] { return thp_.close(); });
    phases_.always("record plugins", [&] { return dumped_ ? record_plugins() : Status{}; });
    phases_.always("write manifest", [&] { return dumped_ ? final_manifest() : Status{}; });
    phases_.always("gpu settle", [&] { return gpu_.settle(dumped_, req_.leave_running); });
    // After the GPU settle: no GPU call may reach a refrozen process.
    phases_.always("restore freezer state", [&] { return restore_freezer(); });
    phases_.always("finish journal", [&] { return gpu_.finish(phases_); });
    phases_.always("unlock target", [&] {
      target_->unlock(dumped_);
      if (dumped_ && !req_.leave_running) tree_lock_.remove_file();  // the tree is gone
      tree_lock_.release();
      return Status{};
    });
    return report();
  }

 private:
  // Everything the request says, checked before anything changes.
  Status validate() {
    GPUCR_TRY(target_->validate());
    if (req_.image_dir.empty() || !req_.image_dir.is_absolute()) {
      return fail(Error("the image directory must be an absolute path, not '" + req_.image_dir.string() + "'",
                        Exit::usage));
    }
    if (req_.work_dir && req_.work_dir->empty()) return fail(Error("the work directory must not be empty", Exit::usage));
    if (target_->engine_owns_dirs()) return {};
    GPUCR_TRY(check_new_dir(req_.image_dir, "image directory"));
    std::error_code ec;
    if (req_.work_dir && fs::exists(*req_.work_dir, ec) && !fs::is_directory(*req_.work_dir, ec)) {
      return fail(Error("work directory " + req_.work_dir->string() + " exists and is not a directory", Exit::bad_input));
    }
    return {};
  }

  Status finish_abandoned() {
    auto seams = host_.recovery();
    seams.cuda_tool = req_.cuda.tool;
    return recovery::finish_abandoned(seams, [&](const std::string& l) { host_.progress.note(l); });
  }

  // The tree's root, and the tree's lock: one gpucr operation per tree at a time.
  Status resolve() {
    root_ = GPUCR_TRY(target_->resolve());
    auto info = GPUCR_TRY(host_.procs.info(root_));
    tree_lock_ = GPUCR_TRY(lock_tree(host_.run, {root_, info.start_time}, "checkpoint", req_.lock_wait));
    return {};
  }

  Status prepare_dirs() {
    if (target_->engine_owns_dirs()) {
      // An engine (the wrapper's case) owns its directories and may have filled them already:
      // made 0700 when missing, as the runtime would, and otherwise left exactly as they are.
      for (const fs::path& d : {req_.image_dir, work_dir_}) {
        std::error_code ec;
        if (!fs::exists(d, ec)) GPUCR_TRY(make_private_dir(d, /*must_be_empty=*/false));
      }
      return {};
    }
    GPUCR_TRY(make_private_dir(req_.image_dir, /*must_be_empty=*/true));
    if (work_dir_ != req_.image_dir) GPUCR_TRY(make_private_dir(work_dir_, /*must_be_empty=*/false));
    return {};
  }

  Status discover_processes() {
    tree_ = GPUCR_TRY(discover_tree(host_.procs, root_));
    log::info(target_->name() + ": " + std::to_string(tree_.size()) + " processes");
    gpu_.find_candidates(tree_);
    return {};
  }

  Status record_freezer() {
    GPUCR_TRY(gpu_.record_freezer(root_, tree_, req_.criu.freeze_cgroup));
    freeze_cgroup_ = req_.criu.freeze_cgroup;
    const auto& fz = gpu_.freezer();
    if (target_->gpucr_runs_criu() && !freeze_cgroup_ && fz.was_frozen()) {
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
      host_.progress.note(target_->name() + ": thawed " + gpu_.freezer().cgroup()->describe() +
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

  Status dump() {
    const auto& journal = gpu_.journal();
    auto scratch = GPUCR_TRY(journal.scratch_dir());
    plugins_ = GPUCR_TRY(criu::PluginDir::create(scratch, amd_.plugin_files()));
    actions_ = GPUCR_TRY(criu::ActionServer::listen(journal.side_file(".sock")));
    DumpJob j;
    j.image_dir = req_.image_dir;
    j.work_dir = work_dir_;
    j.plugin_dir = plugins_.path();  // exactly the plugins this tree needs (core/criu_plugins.hpp)
    j.freeze_cgroup = freeze_cgroup_;
    j.interrupt_only = interrupt_only_;
    j.journal = &journal;
    j.action_script = GPUCR_TRY(recovery::action_script_path(host_.self_exe));
    j.actions = &actions_;
    j.on_action = [&](std::string_view action) { return complete_image(action); };
    j.started = [&](pid_t pid) { gpu_.dump_started(pid); };
    j.tick = [&] { gpu_.propagate_cancel(); };
    CriuWatch watch(host_.time, req_.criu_deadline.value_or(criu_deadline_for(bytes_to_dump())), target_->dump_phase());
    j.stop = [&] { return watch.check(); };
    gpu_.begin_dump(target_->dump_phase(), watch.deadline_epoch_ms());
    // A runtime's criu freezes the container's cgroup; gpucr's does with --freeze-cgroup.
    if (!target_->gpucr_runs_criu() || (freeze_cgroup_ && !interrupt_only_)) GPUCR_TRY(gpu_.note_criu_freezes());
    dump_began_ = Clock::now();
    auto r = target_->dump(j);
    (void)plugins_.remove();
    criu_log_ = r.criu_log;
    runtime_exit_ = r.runtime_exit;
    if (!r.status) {
      if (completed_) {  // criu failed after its post-dump action: the image is not whole
        std::error_code ec;
        fs::remove(req_.image_dir / kManifestFile, ec);
      }
      Error e = r.status.error();
      if (gpu_.dump_abandoned()) {
        e.what = std::string("interrupted by SIG") + sigabbrev_np(signals::cancel_signal()) + " during " +
                 target_->dump_phase() + ": gpucr's post-dump hook abandoned the dump (" + e.what + ")";
      }
      return fail(std::move(e));
    }
    dumped_ = true;
    if (signals::cancel_requested()) {
      host_.progress.note(std::string("received SIG") + sigabbrev_np(signals::cancel_signal()) + " during the " +
                          target_->dump_phase() + ", which can't be interrupted safely: it completed and the image is whole");
    }
    return {};
  }

  // What the dump moves: the tree's memory and the GPU memory staged into it.
  std::uint64_t bytes_to_dump() const {
    std::uint64_t n = 0;
    for (const auto& p : tree_) n += p.rss_bytes;
    for (const auto& p : gpu_.cuda().processes()) n += p.device_bytes;
    return n;
  }

  // criu's post-dump action: the tasks are dumped and still frozen. The plugins field and the
  // manifest go into the image and are read back; a failure here makes criu resume the tasks.
  Status complete_image(std::string_view action) {
    if (action != "post-dump") return {};
    if (signals::cancel_requested()) return fail(Error("gpucr was asked to stop"));
    GPUCR_TRY(criu::record_plugins(req_.image_dir, gpu_plugins()));
    fill_manifest(Clock::now() - dump_began_);
    GPUCR_TRY(write_manifest(req_.image_dir, manifest_));
    GPUCR_TRY(verify_image());
    completed_ = true;
    return {};
  }

  Status verify_image() {
    auto inv = GPUCR_TRY(criu::read_inventory(req_.image_dir));
    if (inv.plugins_field() != criu::PluginsField::listed && !gpu_plugins().empty()) {
      return fail(Error("the inventory of " + req_.image_dir.string() + " does not list the GPU state it holds"));
    }
    auto m = GPUCR_TRY(read_manifest(req_.image_dir));
    if (!m || !google::protobuf::util::MessageDifferencer::Equals(*m, manifest_)) {
      return fail(Error("the manifest in " + req_.image_dir.string() + " does not read back as written"));
    }
    return {};
  }

  // After the dump: the plugins field is checked (recorded now when the runtime's criu did not
  // run gpucr's post-dump hook).
  Status record_plugins() {
    Status st = completed_ ? Status() : criu::record_plugins(req_.image_dir, gpu_plugins());
    if (st) st = criu::read_inventory(req_.image_dir).ok() ? Status() : fail(Error("unreadable inventory"));
    if (st) return {};
    return fail(std::move(st).error()
                    .context(target_->name())
                    .with_hint("the dump reported success: check that it wrote a CRIU image into " +
                               req_.image_dir.string()));
  }

  // The manifest again with every phase's timing and criu's stats. The image was complete
  // already when the post-dump hook wrote it: a failure now costs only the timings.
  Status final_manifest() {
    if (work_dir_ != req_.image_dir) {  // criu writes stats-dump into its work dir
      if (auto stats = read_file(work_dir_ / "stats-dump")) {
        if (auto st = write_file_atomic(req_.image_dir / "stats-dump", *stats, 0600); !st && !completed_) return st;
      }
    }
    fill_manifest(std::nullopt);
    auto st = write_manifest(req_.image_dir, manifest_);
    if (st || !completed_) return st;
    host_.progress.note("the image is complete, but its manifest could not be updated with the final timings: " +
                        st.error().what);
    return {};
  }

  // `dump_so_far`: while the dump runs (post-dump), its own timing up to now.
  void fill_manifest(std::optional<std::chrono::nanoseconds> dump_so_far) {
    manifest_.Clear();
    fill_manifest_header(manifest_, host_.criu.binary().version.str());
    target_->record(manifest_);
    record_processes(tree_, manifest_.mutable_processes());
    amd_.record(req_.image_dir, manifest_);
    auto* flags = manifest_.mutable_flags();
    flags->set_leave_running(req_.leave_running);
    flags->set_tcp_established(req_.criu.tcp_established);
    flags->set_shell_job(req_.criu.shell_job);
    flags->set_ext_unix_sk(req_.criu.ext_unix_sk);
    flags->set_file_locks(req_.criu.file_locks);
    gpu_.record(manifest_);  // CUDA records and the freezer record
    record_requirements(manifest_, req_.image_dir);  // what a destination needs (core/requirements.hpp)
    // Timings of every phase so far; "write manifest" itself is not in the file.
    auto timings = phases_.timings();
    if (dump_so_far) timings.push_back({target_->dump_phase(), *dump_so_far, true});
    record_phases(timings, manifest_.mutable_phases());
  }

  Status restore_freezer() {
    GPUCR_TRY(gpu_.restore_freezer());
    return target_->after_freezer(dumped_);
  }

  std::string image_size_detail() const {
    auto n = dir_size(req_.image_dir);
    return n ? format_bytes(*n) + " written" : std::string();
  }

  CheckpointReport report() {
    CheckpointReport r;
    r.status = phases_.result();
    // Exit 1 promises that everything was returned; a CUDA process that ended on its own while
    // gpucr held it can't be: the target changed under the operation.
    if (!r.status && r.status.error().exit == Exit::failed && !gpu_.cuda().gone().empty()) {
      Error e = r.status.error();
      e.exit = Exit::bad_input;
      for (const auto& who : gpu_.cuda().gone()) {
        e.details.push_back(who + " exited during the checkpoint; every other process was returned to its initial state");
      }
      r.status = fail(std::move(e));
    }
    r.phases = phases_.timings();
    r.manifest = manifest_;
    r.image_dir = req_.image_dir;
    r.work_dir = work_dir_;
    r.criu_log = criu_log_.empty() ? work_dir_ / criu::kDumpLog : criu_log_;
    r.image_bytes = dir_size(req_.image_dir).value_or(0);
    r.cuda_report = gpu_.cuda().report_lines();
    r.criu_plugins = amd_.criu_plugins();
    r.runtime_exit = runtime_exit_;
    return r;
  }

  const CheckpointRequest& req_;
  Host& host_;
  Phases phases_;
  std::unique_ptr<CheckpointTarget> target_;
  fs::path work_dir_;
  GpuCheckpoint gpu_;
  AmdCheckpoint amd_;
  ThpStaging thp_;
  pid_t root_ = 0;
  std::vector<proc::ProcInfo> tree_;
  std::optional<fs::path> freeze_cgroup_;  // what criu gets as --freeze-cgroup
  bool interrupt_only_ = false;            // set by thaw_for_gpu
  criu::PluginDir plugins_;
  criu::ActionServer actions_;
  Clock::time_point dump_began_;
  bool completed_ = false;                 // the post-dump hook completed the image
  bool dumped_ = false;
  fs::path criu_log_;
  std::optional<ExitStatus> runtime_exit_;
  pb::Manifest manifest_;
  OpLock tree_lock_;
};

}  // namespace

std::unique_ptr<CheckpointTarget> make_checkpoint_target(const CheckpointRequest& req, Host& host) {
  if (req.container) return make_container_checkpoint(req, host);
  return make_tree_checkpoint(req, host);
}

CheckpointReport checkpoint(const CheckpointRequest& req, Host& host) { return CheckpointRun(req, host).run(); }

}  // namespace gpucr
