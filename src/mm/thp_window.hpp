// The huge-page staging window (--thp-window): while an operation stages GPU state and criu runs,
// the host's THP mode is `always`; afterwards the mode found before is put back.
//
// Operations under way at once share one window, counted in the run directory:
//   RUN_DIR/thp/lock          flock'ed (common/op_lock.hpp) while a window is opened or closed
//   RUN_DIR/thp/OP.holder     one per operation in the window (OP: its journal id), naming its
//                             gpucr: "pid=PID start=TICKS\n"
//   RUN_DIR/thp/original      the mode the first holder found ("madvise\n"); present while a
//                             window is open
// A holder whose process is gone is dropped by the next open or close. An `original` file with no
// live holder is a window whose gpucr died: its recorded mode is the one to put back. The last
// holder out writes it back and removes the file. The journal (recovery/journal.hpp, "thp_window")
// says an operation holds the window, so the guardian and `gpucr recover` close it for a dead one.
#pragma once

#include "common/run_dir.hpp"
#include "mm/thp.hpp"
#include "proc/process_table.hpp"

#include <functional>
#include <map>
#include <optional>
#include <string>

namespace gpucr::mm {

// --thp-window: off, on (not when the host's mode is `never`), force (`never` too).
enum class ThpWindow { off, on, force };

// The words that name them (`--thp-window=WORD`, GPUCR_THP_WINDOW for the runtime wrapper).
const std::map<std::string, ThpWindow>& thp_window_words();

struct WindowSeams {
  ThpSettings* thp;                 // null: this host has none; no window
  const proc::ProcessTable& procs;  // which holders still live
  const RunDir& run;
};

struct WindowOpen {
  std::optional<ThpMode> original;  // set: this operation holds the window; the mode to put back
  std::string note;                 // why there is no window, or what was done
  bool warning = false;             // `note` is a warning (the window was asked for but not opened)
};

// Joins or opens the window for operation `op` (gpucr `self`). `root`: gpucr may change the
// host's settings. `journal(original)` runs under the lock before anything changes; the window is
// not opened when it fails. Never an error: what went wrong is in the note.
WindowOpen open_window(const WindowSeams& s, ThpWindow want, bool root, const std::string& op,
                       const proc::ProcessId& self, const std::function<Status(ThpMode)>& journal);

// Leaves the window of `op` (a live operation's own, or a dead one's from its journal); the last
// holder puts the recorded mode back. Returns what was done.
Result<std::string> close_window(const WindowSeams& s, const std::string& op);

}  // namespace gpucr::mm
