// The operation journal: what gpucr has changed, so that nothing stays locked, checkpointed or
// frozen if gpucr dies (SIGKILL, OOM kill) half-way.
//
// File: RUN_DIR/ops/<id>.json (common/run_dir.hpp), mode 0600, rewritten atomically (temporary
// file + fsync + rename) before every state change. Every checkpoint and restore has one, from
// its first state change to its end. JSON document:
//   {"version":1, "id", "op":"checkpoint"|"restore", "created_ms",
//    "owner":{"pid","start_time"}, "guardian":{"pid","start_time"}|null,
//    "phase": the phase running, "cancel": bool (SIGINT/SIGTERM/SIGHUP received),
//    "criu":{"pid","start_time"}|null, "criu_deadline_ms": when recovery may stop that criu (and
//         its process group, with the runtime that started it) at the latest, 0: never,
//    "restore_pidfile": path|"" (restore: criu's pid file),
//    "restore_pids": [...] (restore of a tree: the pids criu re-creates; after a killed criu,
//         those started after it are killed, as criu leaves them waiting forever),
//    "view": path|"" (restore: the image view in the image directory, removed by recovery),
//    "backend":"api"|"tool", "tool": path, "device_map": "OLD=NEW,..."|"",
//    "processes":[{"pid","start_time","nspid":[...],"target":"running"|"locked"|"checkpointed",
//                  "device_bytes"}],
//    "freezer": freezer record or null,
//    "container": {"id", "runtime": path, "globals": [...]} | null (a container operation: the
//                 runtime ran criu; recovery asks `<runtime> GLOBALS state ID` for the restored
//                 init pid, and the container's poststop hook finishes its stale journals),
//    "thp_window": {"original": "madvise"|"never"} | null (the operation holds the huge-page
//                 window, mm/thp_window.hpp; "original": the mode the window puts back; recovery
//                 leaves the window for it, and the last holder out puts the mode back)}
// "target" is the state each CUDA process must be in when the operation ends: its initial state
// for a checkpoint (rollback), its state at checkpoint time for a restore (roll forward).
// A restore's processes have pid 0 until criu has restored them; recovery then finds them from
// the restored root (restore_pidfile) through their NSpid.
//
// Side files live and die with the journal (journal_side_file): ops/<id>.criu.conf (a runtime's
// criu configuration, action_hook.hpp), ops/<id>.sock (criu/action_channel.hpp) and the
// operation's scratch directory ops/<id>.tmp/ (criu's private plugin directory). Recovery removes
// them with the journal, so a killed gpucr leaves nothing in the image directory.
// Compatibility: readers refuse a newer "version"; the file lives only for one operation.
#pragma once

#include "common/run_dir.hpp"
#include "gpu/cuda/types.hpp"
#include "proc/process_table.hpp"
#include "util/file.hpp"

#include <nlohmann/json.hpp>

#include <optional>

namespace gpucr::recovery {

struct JournalProcess {
  proc::ProcessId id;               // pid 0: not known yet (restore before criu finished)
  std::vector<pid_t> nspid;
  cuda::State target = cuda::State::running;
  std::uint64_t device_bytes = 0;   // sizes the deadlines of restore calls
};

struct JournalContainer {
  std::string id;
  std::string runtime;               // path of runc/crun
  std::vector<std::string> globals;  // its global options (--root DIR, ...)
};

struct JournalData {
  std::string id;
  std::string op;
  std::int64_t created_ms = 0;
  proc::ProcessId owner;
  std::optional<proc::ProcessId> guardian;
  std::string phase;
  bool cancel = false;
  std::optional<proc::ProcessId> criu;
  std::int64_t criu_deadline_ms = 0;
  std::string restore_pidfile;
  std::vector<pid_t> restore_pids;
  std::string view;
  std::string backend;
  std::string tool;
  std::string device_map;
  std::vector<JournalProcess> processes;
  nlohmann::json freezer;           // opaque to the journal: the freezer module's record
  std::optional<JournalContainer> container;
  std::string thp_window;           // the THP mode to put back ("madvise"); empty: no window held
};

nlohmann::json to_json(const JournalData& d);
Result<JournalData> journal_from_json(const nlohmann::json& j, const std::string& name);

class Journal {
 public:
  // Creates a new journal file for `op` in `run` owned by this process (its identity from
  // /proc/self).
  static Result<Journal> create(const RunDir& run, const std::string& op);
  JournalData& data() { return data_; }
  const JournalData& data() const { return data_; }
  const fs::path& path() const { return path_; }
  Status save();
  // A side file of this journal: ".criu.conf", ".sock", ".tmp" (the scratch directory).
  fs::path side_file(const std::string& suffix) const;
  // The operation's scratch directory (created 0700 on first use).
  Result<fs::path> scratch_dir() const;
  // The operation ended (whatever its outcome was handled): remove the file and its side files.
  void finish();

 private:
  JournalData data_;
  fs::path path_;
};

// Reads a journal: a regular file (never a symlink, FIFO or device) of at most 1 MiB; with
// `owner`, it must belong to that user (gpucr's) and be writable by no one else, since recovery
// acts on what it says as root.
Result<JournalData> load_journal(const fs::path& path, std::optional<uid_t> owner = std::nullopt);
// A file that lives and dies with the journal at `journal` (ops/<id><suffix>).
fs::path journal_side_file(const fs::path& journal, const std::string& suffix);
// Removes the journal and its side files.
void remove_journal(const fs::path& journal);
// Every journal file in `run` (readable or not).
std::vector<fs::path> list_journals(const RunDir& run);

}  // namespace gpucr::recovery
