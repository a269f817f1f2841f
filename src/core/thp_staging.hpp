// The huge-page staging window of one checkpoint or restore (--thp-window, mm/thp_window.hpp):
// two phases of the drivers. "open THP window" runs after the journal exists ("arm recovery"),
// just before the GPU state is staged (checkpoint) or criu restores (restore); "close THP
// window" is an always-phase after the dump (checkpoint) or after "gpu unlock" (restore).
// The window is an optimization: neither phase ever fails the operation; what keeps a window
// from opening or closing is a warning (util/log).
#pragma once

#include "core/host.hpp"
#include "mm/thp_window.hpp"
#include "recovery/journal.hpp"

namespace gpucr {

class ThpStaging {
 public:
  ThpStaging(mm::ThpWindow want, Host& host) : want_(want), host_(host) {}

  bool wanted() const { return want_ != mm::ThpWindow::off; }
  bool held() const { return journal_ != nullptr; }
  // Joins or opens the window; `journal` (the operation's) records it first ("thp_window").
  Status open(recovery::Journal& journal);
  // Leaves the window held (the last holder puts the mode back); the journal forgets it.
  // Nothing to do when open() did not open it.
  Status close();

 private:
  mm::WindowSeams seams() const { return {host_.thp, host_.procs, host_.run}; }
  mm::ThpWindow want_;
  Host& host_;
  recovery::Journal* journal_ = nullptr;  // set while the window is held
};

// What `gpucr check` says the window buys: gpucr with and without --thp-window on an H100 whose
// host mode was `madvise` (docs/BENCHMARKS.md, 2026-12-07, one 8 GiB process).
inline constexpr const char* kThpWindowGain =
    "gpucr with the window against without on an H100 at `madvise`, 8 GiB process: downtime 12.3 -> 9.4 s "
    "(GPU checkpoint 3.5 -> 2.5 s, criu dump 3.2 -> 2.8 s, criu restore 4.1 -> 2.7 s, GPU restore 1.6 -> 1.4 s; "
    "48 GiB: 74.2 -> 57.2 s)";

}  // namespace gpucr
