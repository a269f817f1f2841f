// The guardian: a small process, in its own session, that finishes an operation if gpucr dies.
//
// gpucr starts it right after creating the journal, holding the read end of a pipe whose write
// end only gpucr holds (close-on-exec, so criu and helpers never inherit it). When gpucr exits
// for any reason the pipe reaches EOF. A finished operation has removed its journal first, so the
// guardian just exits; otherwise it runs the recovery (recover.hpp) and logs what it did to
// RUN_DIR/recovery.log.
#pragma once

#include "recovery/journal.hpp"
#include "recovery/seams.hpp"
#include "util/fd.hpp"

namespace gpucr::recovery {

class Guardian {
 public:
  // Starts `SELF __guardian --journal PATH --fd N [--cuda-checkpoint T] [--runtime R]` (T and R
  // from `seams`) and records its identity in the journal.
  static Result<Guardian> start(Journal& journal, const Seams& seams);
  Guardian() = default;
  Guardian(Guardian&&) = default;
  Guardian& operator=(Guardian&&) = default;
  // Closing the pipe tells the guardian gpucr is done (call after Journal::finish()).
  void release() { pipe_.reset(); }

 private:
  UniqueFd pipe_;
};

// The guardian process: waits for EOF on `fd`, then recovers `journal` if it still exists.
int run_guardian(const fs::path& journal, int fd, const Seams& seams);

// Appends lines to RUN_DIR/recovery.log with a timestamp.
void log_recovery(const RunDir& run, const std::vector<std::string>& lines);

}  // namespace gpucr::recovery
