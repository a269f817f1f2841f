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

// What `gpucr check` says the window buys (docs/FACTS.md, an 8 GiB process on an H100).
inline constexpr const char* kThpWindowGain =
    "`always` instead of `madvise` measured on an H100, 8 GiB process: "
    "GPU checkpoint 5.1 -> 2.7 s, criu dump 6.0 -> 3.9 s, criu restore 5.6 -> 3.8 s, GPU restore 2.1 -> 1.7 s";

}  // namespace gpucr
