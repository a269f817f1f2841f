// Bringing CUDA processes (and their freezer cgroup) to the state an operation promised, from a
// journal: after gpucr died (the guardian, `gpucr recover`, the poststop hook, or the first phase
// of the next checkpoint or restore), and by the drivers themselves to roll back.
#pragma once

#include "recovery/journal.hpp"
#include "recovery/seams.hpp"
#include "gpu/cuda/checkpointer.hpp"
#include "manifest.pb.h"

#include <functional>
#include <memory>

namespace gpucr::recovery {

// The freezer record (freezer/keeper.hpp) as the journal keeps it: the serialized record, exact
// whatever bytes its paths hold ("record", hex), and its directory and state for a reader.
nlohmann::json freezer_to_journal(const pb::FreezerRecord& r);
Result<pb::FreezerRecord> freezer_from_journal(const nlohmann::json& j);

// Moves `pid` from whatever state the driver reports to `target` (restore, then unlock, as
// needed). Returns a line saying what was done ("pid 12: checkpointed -> running").
Result<std::string> bring_to_state(cuda::Checkpointer& backend, pid_t pid, cuda::State target,
                                   const std::vector<cuda::GpuPair>& map, std::uint64_t device_bytes);

struct RecoverReport {
  Status status;                    // rollback_incomplete when something could not be fixed
  std::vector<std::string> lines;   // what was found and done
};

// Waits for the operation's criu to end, then brings every journaled process to its target and
// the cgroup to its original state; removes the journal (and its side files) when everything
// succeeded.
RecoverReport recover(const fs::path& journal, const Seams& seams);

// Fails when the operation of `journal` is still under way (its gpucr or its guardian lives):
// recovering it then would race with them. `gpucr recover --journal J --force` overrides.
Status check_abandoned(const Seams& seams, const fs::path& journal);

// The journals in the run directory nobody is finishing (owner and guardian both gone), and those
// that can't be read at all (with why).
struct JournalScan {
  std::vector<fs::path> stale;
  std::vector<std::pair<fs::path, Error>> unreadable;
};
JournalScan scan_journals(const Seams& seams);

// The stale journals of container `id` whose criu or runtime command has ended too (the
// container's poststop hook may run inside that command, which waits for the hook).
std::vector<fs::path> stale_container_journals(const Seams& seams, const std::string& id);

// Recovers every stale journal, telling `note` what it does (a journal that can't be recovered
// stays for `gpucr recover`, and is noted). Fails only when the run directory can't be trusted
// (common/run_dir.hpp): then nothing in it is acted on.
Status finish_abandoned(const Seams& seams, const std::function<void(const std::string&)>& note);

}  // namespace gpucr::recovery
