// What a checkpoint or a restore operates on: a process tree, dumped and restored by criu
// (core/tree_target.cpp), or a container, dumped and restored by its OCI runtime, which runs criu
// itself (core/container_target.cpp). The drivers (core/checkpoint.cpp, core/restore.cpp) do
// everything else once for both: freezer, CUDA, AMD, journal, manifest, plugins field.
//
// A target method is the body of one phase, or part of one; each says what it may change.
#pragma once

#include "core/host.hpp"
#include "core/request.hpp"
#include "criu/action_channel.hpp"
#include "recovery/journal.hpp"
#include "manifest.pb.h"

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

namespace gpucr {

struct RestoreReport;  // core/restore.hpp

// What the checkpoint driver hands a target's dump.
struct DumpJob {
  fs::path image_dir;
  fs::path work_dir;
  fs::path plugin_dir;                       // the operation's private CRIU plugin directory
  std::optional<fs::path> freeze_cgroup;     // trees: criu --freeze-cgroup
  bool interrupt_only = false;               // trees: seize with ptrace only (cgroup thawed by gpucr)
  const recovery::Journal* journal = nullptr;
  fs::path action_script;                    // gpucr, as criu's action script (recovery/action_hook.hpp)
  criu::ActionServer* actions = nullptr;     // where the action script's requests arrive
  criu::ActionServer::Handler on_action;     // ... and who answers them (completes the image)
  std::function<void(pid_t)> started;        // the dumping process (criu or the runtime) started
  std::function<void()> tick;                // about every 200 ms while it runs
  // Asked with each tick: a reason to stop the dump now (core/criu_deadline.hpp); the target then
  // kills criu (or the runtime and its criu) with SIGKILL and reports it.
  std::function<std::optional<std::string>()> stop;
};

struct DumpResult {
  Status status;
  fs::path criu_log;                         // criu's dump log (in the work directory)
  std::optional<ExitStatus> runtime_exit;    // containers: the runtime's checkpoint command ended
};

class CheckpointTarget {
 public:
  virtual ~CheckpointTarget() = default;
  virtual std::string name() const = 0;                        // "pid 42", "container c1"
  // The target's part of the request (and the privileges it needs); changes nothing.
  virtual Status validate() = 0;
  // One gpucr operation per target at a time (waits up to the request's lock_wait).
  virtual Status lock() = 0;
  // The root of the tree to checkpoint (host pid); reads the system, changes nothing.
  virtual Result<pid_t> resolve() = 0;
  // How recovery finds a container again; nullopt for a process tree.
  virtual std::optional<recovery::JournalContainer> journal_record() const = 0;
  // True when the image and work directories belong to an engine (the runtime wrapper's case):
  // gpucr creates them when missing and leaves them as they are otherwise.
  virtual bool engine_owns_dirs() const = 0;
  virtual std::string dump_phase() const = 0;                  // "criu dump", "runtime checkpoint"
  // True when gpucr runs criu itself (a tree); a container's runtime runs its own.
  virtual bool gpucr_runs_criu() const = 0;
  // Dumps the tree (and, without --leave-running, ends it). The image is complete when the
  // action script's post-dump request was answered ok (the driver's on_action).
  virtual DumpResult dump(const DumpJob& job) = 0;
  // The target's records in the manifest (target, container).
  virtual void record(pb::Manifest& m) const = 0;
  // After the freezer cgroup is back in its original state: a container that was paused is
  // reported paused by its runtime again.
  virtual Status after_freezer(bool dumped) = 0;
  virtual void unlock(bool dumped) = 0;
};

// What the restore driver hands a target's restore.
struct RestoreJob {
  fs::path image_dir;                        // what criu reads: the image directory or its view
  fs::path work_dir;
  fs::path plugin_dir;
  CriuOptions criu;                          // the request's, or-ed with the checkpoint's flags
  std::map<std::string, std::string> env;    // criu's extra environment (AMD plugin switches)
  const recovery::Journal* journal = nullptr;
  std::function<void(pid_t)> started;
  std::function<std::optional<std::string>()> stop;  // as for DumpJob
  std::vector<pid_t> dumped_pids;            // trees: the pids (and thread ids) criu re-creates
};

class RestoreTarget {
 public:
  virtual ~RestoreTarget() = default;
  virtual std::string name() const = 0;                        // "image DIR", "container c1"
  virtual Status validate() = 0;
  virtual Status lock() = 0;
  virtual std::optional<recovery::JournalContainer> journal_record() const = 0;
  // Where criu writes the restored root's pid (trees); recovery reads it. Empty for containers.
  virtual std::string restore_pidfile() const = 0;
  // True when the dumped pids must be free before the restore (a tree keeps its pids; a
  // container gets a new pid namespace).
  virtual bool needs_dumped_pids() const = 0;
  // True when the restored tree lands in the freezer cgroup recorded at checkpoint (a tree); a
  // container gets a new cgroup from its runtime.
  virtual bool reuses_cgroup() const = 0;
  virtual std::string restore_phase() const = 0;               // "criu restore", "runtime restore"
  // True when gpucr runs criu itself (a tree: gpucr makes the work directory); a container's
  // runtime runs its own and owns its directories.
  virtual bool gpucr_runs_criu() const = 0;
  // Restores the tree; returns the host pid of its root once it runs.
  virtual Result<pid_t> restore(const RestoreJob& job, const std::optional<pb::Manifest>& manifest) = 0;
  // The restored processes and their new host pids, for the report (containers).
  virtual Status map_pids(pid_t root, const std::optional<pb::Manifest>& manifest) = 0;
  // --restore-frozen: freezes (pauses) the restored tree when the checkpoint says it was.
  // Returns whether it did.
  virtual Result<bool> freeze_again(pid_t root, const std::optional<pb::Manifest>& manifest) = 0;
  // Publishes the restored root (the pid file, for trees; a runtime writes its own).
  virtual Status publish(pid_t root) = 0;
  // All or nothing: kills (and, for a container, deletes) what the restore made, also when the
  // restore failed half-way and `root` is unknown (0). Returns a line saying what it did.
  virtual std::string remove_restored(pid_t root) = 0;
  virtual void unlock() = 0;
  // The target's part of the report (containers: the processes' new pids, the runtime).
  virtual void report(RestoreReport&) {}
};

// The target a request names: its container, else its process tree.
std::unique_ptr<CheckpointTarget> make_checkpoint_target(const CheckpointRequest& req, Host& host);
std::unique_ptr<RestoreTarget> make_restore_target(const RestoreRequest& req, Host& host);

// The implementations (core/tree_target.cpp, core/container_*_target.cpp).
std::unique_ptr<CheckpointTarget> make_tree_checkpoint(const CheckpointRequest& req, Host& host);
std::unique_ptr<RestoreTarget> make_tree_restore(const RestoreRequest& req, Host& host);
std::unique_ptr<CheckpointTarget> make_container_checkpoint(const CheckpointRequest& req, Host& host);
std::unique_ptr<RestoreTarget> make_container_restore(const RestoreRequest& req, Host& host);

}  // namespace gpucr
