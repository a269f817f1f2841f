// The guardian: a small process, in its own session, that finishes an operation if gpucr dies.
//
// gpucr starts it right after creating the journal, holding the read end of a pipe whose write
// end only gpucr holds (close-on-exec, so criu and helpers never inherit it). When gpucr exits
// for any reason the pipe reaches EOF. A finished operation has removed its journal first, so the
// guardian just exits; otherwise it runs the recovery (core/recover.hpp) and logs what it did to
// $GPUCR_RUN_DIR/recovery.log.
#pragma once

#include "core/journal.hpp"
#include "core/recover.hpp"
#include "util/fd.hpp"

namespace gpucr {

class Guardian {
 public:
  // Starts `self_exe __guardian --journal PATH --fd N` and records its identity in the journal.
  static Result<Guardian> start(Journal& journal, const proc::ProcessTable& procs,
                                const std::string& self_exe = "/proc/self/exe");
  Guardian() = default;
  Guardian(Guardian&&) = default;
  Guardian& operator=(Guardian&&) = default;
  // Closing the pipe tells the guardian gpucr is done (call after Journal::finish()).
  void release() { pipe_.reset(); }

 private:
  UniqueFd pipe_;
};

// The guardian process: waits for EOF on `fd`, then recovers `journal` if it still exists.
int run_guardian(const fs::path& journal, int fd, RecoverDeps& deps);

// Appends lines to $GPUCR_RUN_DIR/recovery.log with a timestamp.
void log_recovery(const std::vector<std::string>& lines);

}  // namespace gpucr
