// Phases: runs an operation's named steps in order, times them, stops at the first failure,
// and always runs the cleanup steps. A driver reads as its list of phases:
//
//   Phases p(progress);
//   p.step("discover", [&] { return discover(); });
//   p.step("criu dump", [&] { return dump(); });
//   p.always("gpu settle", [&] { return settle(p.failed()); });
//   return p.result();
//
// A cancellation request (SIGINT/SIGTERM/SIGHUP) fails the next step as "interrupted".
#pragma once

#include "core/progress.hpp"
#include "util/result.hpp"

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace gpucr {

struct PhaseTiming {
  std::string name;
  std::chrono::nanoseconds took{};
  bool ok = true;
};

class Phases {
 public:
  explicit Phases(Progress& progress) : progress_(progress) {}

  // Runs `fn` unless an earlier step failed or cancellation was requested.
  void step(const std::string& name, const std::function<Status()>& fn,
            std::function<std::string()> detail = {});
  // Runs `fn` whatever happened before. A failure here is recorded; when an earlier step had
  // already failed, it is added to that error's details (and can raise its exit code).
  void always(const std::string& name, const std::function<Status()>& fn);

  bool failed() const { return error_.has_value(); }
  const std::vector<PhaseTiming>& timings() const { return timings_; }
  // The first failure, with cleanup failures appended; ok when every step succeeded.
  Status result() const;

 private:
  void run(const std::string& name, const std::function<Status()>& fn, std::function<std::string()> detail);
  Progress& progress_;
  std::optional<Error> error_;
  std::vector<PhaseTiming> timings_;
};

}  // namespace gpucr
