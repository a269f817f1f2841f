#include "core/phases.hpp"

#include "util/signals.hpp"

#include <csignal>
#include <cstring>

namespace gpucr {

void Phases::step(const std::string& name, const std::function<Status()>& fn,
                  std::function<std::string()> detail) {
  if (error_) return;
  if (signals::cancel_requested()) {
    int sig = signals::cancel_signal();
    error_ = Error(std::string("interrupted by SIG") + sigabbrev_np(sig) + " before " + name);
    return;
  }
  run(name, fn, std::move(detail));
}

void Phases::always(const std::string& name, const std::function<Status()>& fn) { run(name, fn, {}); }

void Phases::run(const std::string& name, const std::function<Status()>& fn, std::function<std::string()> detail) {
  progress_.begin(name, std::move(detail));
  auto t0 = std::chrono::steady_clock::now();
  Status st = fn();
  auto took = std::chrono::steady_clock::now() - t0;
  timings_.push_back({name, took, st.ok()});
  progress_.end(name, took, st.ok());
  if (st.ok()) return;
  if (!error_) {
    error_ = std::move(st).error();
    return;
  }
  // A cleanup step failed after an earlier failure: keep the first error as the headline.
  const Error& later = st.error();
  error_->details.push_back(name + " also failed: " + later.what);
  for (const auto& d : later.details) error_->details.push_back("  " + d);
  if (later.exit == Exit::rollback_incomplete) {  // what to do now matters more than why it started
    error_->exit = Exit::rollback_incomplete;
    if (!later.hint.empty()) error_->hint = later.hint + (error_->hint.empty() ? "" : "; " + error_->hint);
  }
}

Status Phases::result() const {
  if (error_) return fail(*error_);
  return {};
}

}  // namespace gpucr
