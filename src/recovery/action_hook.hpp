// gpucr as criu's action script, so a dump can't complete (and kill the tree) for an operation
// gpucr has abandoned, and so the image is complete before criu kills anything.
//
// Every dump runs with `--action-script <gpucr binary>` (a runtime's criu gets it through a
// configuration file, core/container_target.cpp) and GPUCR_JOURNAL=<journal> in criu's
// environment. criu runs the script (through `sh -c PATH`, so the path must be plain) for each
// action with CRTOOLS_SCRIPT_ACTION set; gpucr started with no arguments and that variable set
// is the hook. At "post-dump" (the tasks are dumped and still frozen) it fails when gpucr is gone
// or was asked to stop (SIGINT/SIGTERM/SIGHUP), and otherwise asks the gpucr that runs the dump
// (criu/action_channel.hpp), which completes the image (manifest, inventory plugins field, both
// read back) and answers. A failing hook makes criu resume the tasks instead of killing them, and
// the guardian or gpucr then returns their GPU state. Every other action succeeds at once.
#pragma once

#include "proc/process_table.hpp"
#include "util/file.hpp"

#include <chrono>

namespace gpucr::recovery {

// How long the hook waits for gpucr's answer before it fails (criu then resumes the tasks).
inline constexpr std::chrono::seconds kActionAnswerTimeout{120};

// True when this process was started by criu as an action script (`action`: the value of
// CRTOOLS_SCRIPT_ACTION, null when unset).
bool is_criu_action_hook(int argc, const char* action);
// `journal`: the value of GPUCR_JOURNAL (null when unset), a journal that must belong to `owner`
// (gpucr's user). Returns the hook's exit code.
int run_criu_action_hook(const proc::ProcessTable& procs, const char* action, const char* journal, uid_t owner);

// The path of the gpucr binary `exe` (resolved when it is /proc/self/exe), when it is safe to
// hand to `sh -c`.
Result<fs::path> action_script_path(const fs::path& exe);

}  // namespace gpucr::recovery
