// gpucr as criu's action script, so a dump can't complete (and kill the tree) for an operation
// gpucr has abandoned.
//
// When CUDA processes are involved, gpucr runs `criu dump --action-script <gpucr binary>` with
// GPUCR_JOURNAL=<journal> in criu's environment. criu runs the script (through `sh -c PATH`, so
// the path must be plain) for each action with CRTOOLS_SCRIPT_ACTION set; gpucr started with no
// arguments and that variable set acts as the hook. At "post-dump" (the tasks are dumped and
// still frozen) it fails when gpucr is gone or was asked to stop (SIGINT/SIGTERM/SIGHUP): criu
// then resumes the tasks instead of killing them, and the guardian or gpucr returns their GPU
// state. Every other action succeeds without doing anything.
#pragma once

#include "proc/process_table.hpp"
#include "util/file.hpp"

#include <map>

namespace gpucr {

inline constexpr const char* kJournalEnv = "GPUCR_JOURNAL";

// True when this process was started by criu as an action script.
bool is_criu_action_hook(int argc);
int run_criu_action_hook(const proc::ProcessTable& procs);

// The path of the gpucr binary `exe` (resolved when it is /proc/self/exe), when it is safe to
// hand to `sh -c`.
Result<fs::path> action_script_path(const fs::path& exe);

// The same hook for the criu an OCI runtime runs (`criu swrk`: its options come over RPC, not a
// command line). criu also reads the configuration file named by $CRIU_CONFIG_FILE in swrk mode,
// and runc passes its environment on to criu (measured: runc 1.1.5 + criu 4.1.1 ran the script
// for pre-dump, network-lock, post-dump and network-unlock, and a failing post-dump left the
// container running). Writes ops/<id>.criu.conf next to `journal` (the caller's own
// $CRIU_CONFIG_FILE, when set, copied in first, then "action-script <gpucr>") and returns the
// environment for the runtime: CRIU_CONFIG_FILE and GPUCR_JOURNAL. Nothing under /etc is touched.
Result<std::map<std::string, std::string>> runtime_hook_env(const fs::path& journal, const fs::path& exe);

}  // namespace gpucr
