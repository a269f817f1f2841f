// A process tree as the target of a checkpoint or restore: criu dumps and restores it
// (core/target.hpp says what each method is for).
#include "core/target.hpp"

#include "core/pids.hpp"
#include "core/tree.hpp"
#include "criu/args.hpp"
#include "freezer/keeper.hpp"
#include "util/log.hpp"
#include "util/strings.hpp"

#include <algorithm>
#include <csignal>

namespace gpucr {

namespace {

class TreeCheckpoint : public CheckpointTarget {
 public:
  TreeCheckpoint(const CheckpointRequest& r, Host& h) : req_(r), host_(h) {}

  std::string name() const override { return "pid " + std::to_string(req_.pid); }

  Status validate() override {
    if (req_.pid <= 0) return fail(Error("invalid pid " + std::to_string(req_.pid), Exit::bad_input));
    if (!host_.privileges.root()) {
      return fail(Error("checkpointing pid " + std::to_string(req_.pid) + " needs root privileges", Exit::not_permitted)
                      .with_hint("run gpucr as root (criu needs CAP_SYS_ADMIN or CAP_CHECKPOINT_RESTORE)"));
    }
    return {};
  }

  Status lock() override { return {}; }

  Result<pid_t> resolve() override {
    GPUCR_TRY(validate_root(host_.procs, req_.pid));
    return req_.pid;
  }

  std::optional<recovery::JournalContainer> journal_record() const override { return std::nullopt; }
  bool engine_owns_dirs() const override { return false; }
  std::string dump_phase() const override { return "criu dump"; }
  bool gpucr_runs_criu() const override { return true; }

  DumpResult dump(const DumpJob& j) override {
    criu::DumpFlags f;
    static_cast<criu::Options&>(f) = req_.criu;
    f.pid = req_.pid;
    f.image_dir = j.image_dir;
    f.work_dir = j.work_dir;
    f.leave_running = req_.leave_running;
    f.freeze_cgroup = j.freeze_cgroup;
    f.interrupt_only = j.interrupt_only;
    f.libdir = j.plugin_dir;  // exactly the plugins this tree needs (core/criu_plugins.hpp)
    if (j.journal) f.action_script = j.action_script;
    criu::Invocation inv{criu::dump_args(f), j.work_dir / criu::kDumpLog, {}, j.tick, j.actions, j.on_action, j.stop};
    if (j.journal) inv.env[self::kJournalEnv] = j.journal->path().string();
    DumpResult r{.criu_log = inv.log};
    auto ran = host_.criu.run(inv, j.started);
    if (!ran) {
      r.status = fail(std::move(ran).error());
      return r;
    }
    if (ran->status.success()) return r;
    if (ran->stopped) {
      r.status = fail(Error("criu dump of pid " + std::to_string(req_.pid) + " stopped by gpucr: " + *ran->stopped)
                          .with_hint("gpucr killed criu (SIGKILL), its tasks resumed and gpucr rolled back; criu's log: " +
                                     inv.log.string()));
      return r;
    }
    Error e("criu dump of pid " + std::to_string(req_.pid) + " failed (" + ran->status.describe() + ")");
    e.details = ran->error_lines;
    e.hint = "criu's log: " + inv.log.string() +
             (req_.leave_running ? "" : "; the process tree was resumed and keeps running") +
             "; checkpoint again into a new or emptied image directory (" + j.image_dir.string() +
             " holds the failed attempt)";
    criu::explain(e);
    r.status = fail(std::move(e));
    return r;
  }

  void record(pb::Manifest& m) const override { m.mutable_target()->set_root_pid(req_.pid); }
  Status after_freezer(bool) override { return {}; }
  void unlock(bool) override {}

 private:
  const CheckpointRequest& req_;
  Host& host_;
};

class TreeRestore : public RestoreTarget {
 public:
  TreeRestore(const RestoreRequest& r, Host& h) : req_(r), host_(h), work_(r.work_dir.value_or(r.image_dir)) {}

  std::string name() const override { return req_.image_dir.string(); }

  Status validate() override {
    if (!host_.privileges.root()) {
      return fail(Error("restoring " + req_.image_dir.string() + " needs root privileges", Exit::not_permitted)
                      .with_hint("run gpucr as root"));
    }
    return {};
  }

  Status lock() override { return {}; }
  std::optional<recovery::JournalContainer> journal_record() const override { return std::nullopt; }
  std::string restore_pidfile() const override { return (work_ / "restore.pid").string(); }
  bool needs_dumped_pids() const override { return true; }
  bool reuses_cgroup() const override { return true; }
  std::string restore_phase() const override { return "criu restore"; }
  bool gpucr_runs_criu() const override { return true; }

  Result<pid_t> restore(const RestoreJob& j, const std::optional<pb::Manifest>&) override {
    dumped_pids_ = j.dumped_pids;
    criu::RestoreFlags f;
    static_cast<criu::Options&>(f) = j.criu;
    f.image_dir = j.image_dir;
    f.work_dir = j.work_dir;
    f.pidfile = fs::path(restore_pidfile());
    f.libdir = j.plugin_dir;  // exactly the plugins this image needs (core/criu_plugins.hpp)
    ::unlink(f.pidfile->c_str());
    criu::Invocation inv{criu::restore_args(f), j.work_dir / criu::kRestoreLog, j.env, {}};
    inv.stop = j.stop;
    auto started = [&](pid_t pid) {
      criu_ = proc::ProcessId{pid, host_.procs.info(pid).value_or(proc::ProcInfo{}).start_time};
      if (j.started) j.started(pid);
    };
    auto out = GPUCR_TRY(host_.criu.run(inv, started));
    if (out.stopped) {
      return fail(Error("criu restore of " + req_.image_dir.string() + " stopped by gpucr: " + *out.stopped)
                      .with_hint("criu's log: " + inv.log.string()));
    }
    if (!out.status.success()) {
      Error e("criu restore of " + req_.image_dir.string() + " failed (" + out.status.describe() + ")");
      e.details = out.error_lines;
      e.hint = "criu's log: " + inv.log.string();
      return fail(std::move(e));
    }
    auto text = GPUCR_TRY(read_file(*f.pidfile));
    pid_t root = static_cast<pid_t>(GPUCR_TRY(parse_int(trim(text), "restored root pid")));
    log::info("restored tree root: pid " + std::to_string(root));
    return root;
  }

  Status map_pids(pid_t, const std::optional<pb::Manifest>&) override { return {}; }

  Result<bool> freeze_again(pid_t root, const std::optional<pb::Manifest>& m) override {
    if (!m || !m->has_freezer()) {
      host_.progress.note("no freezer state recorded at checkpoint: the restored tree runs");
      return false;
    }
    bool frozen = GPUCR_TRY(freezer::refreeze_restored(host_.freezer, root, m->freezer()));
    if (!frozen) host_.progress.note("the tree's cgroup was thawed at checkpoint: the restored tree runs");
    return frozen;
  }

  Status publish(pid_t root) override {
    if (!req_.pid_file) return {};
    return write_file_atomic(*req_.pid_file, std::to_string(root) + "\n", 0644);
  }

  // Every process of the restored tree. When criu failed (or was stopped) before it said which
  // is the root, the restored processes are those that hold a dumped pid and started after criu
  // did (criu re-creates the dumped pids; they were free before it ran).
  std::string remove_restored(pid_t root) override {
    std::vector<proc::ProcessId> victims;
    if (root > 0) {
      if (auto tree = proc::process_tree(host_.procs, root)) {
        for (const auto& p : *tree) victims.push_back({p.pid, p.start_time});
      }
    } else if (criu_) {
      for (pid_t pid : dumped_pids_) {
        auto info = host_.procs.info(pid);
        if (info && info->start_time >= criu_->start_time && info->pid != criu_->pid) {
          victims.push_back({pid, info->start_time});
        }
      }
    }
    std::sort(victims.begin(), victims.end(), [](const auto& a, const auto& b) { return a.pid < b.pid; });
    victims.erase(std::unique(victims.begin(), victims.end(), [](const auto& a, const auto& b) { return a.pid == b.pid; }),
                  victims.end());
    if (victims.empty()) return "";
    std::vector<std::string> pids;
    for (const auto& v : victims) {
      (void)host_.control.kill(v, SIGKILL);
      pids.push_back(std::to_string(v.pid));
    }
    for (const auto& v : victims) host_.control.reap(v.pid, host_.time.now() + std::chrono::seconds(2));
    return "killed the restored tree (pids " + join(pids, ", ") + "); the images are unchanged";
  }

  void unlock() override {}

 private:
  const RestoreRequest& req_;
  Host& host_;
  fs::path work_;
  std::vector<pid_t> dumped_pids_;
  std::optional<proc::ProcessId> criu_;  // the criu that restored (or tried to)
};

}  // namespace

std::unique_ptr<CheckpointTarget> make_tree_checkpoint(const CheckpointRequest& req, Host& host) {
  return std::make_unique<TreeCheckpoint>(req, host);
}

std::unique_ptr<RestoreTarget> make_tree_restore(const RestoreRequest& req, Host& host) {
  return std::make_unique<TreeRestore>(req, host);
}

}  // namespace gpucr
