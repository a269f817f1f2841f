// The deadline of the step that runs criu (or the OCI runtime that runs it), and what a
// cancellation request means there. criu can't be asked to stop: SIGTERM and SIGINT kill a dump
// as abruptly as SIGKILL, and a restore ignores them (docs/FACTS.md §9). So:
//   - SIGINT/SIGTERM/SIGHUP while a dump runs: gpucr's post-dump hook refuses, and criu resumes
//     the tasks itself (the clean abort); a criu that has not got there kCancelGrace after the
//     signal is killed (SIGKILL of its process group; the tasks resume, gpucr rolls back);
//   - a criu still running at its deadline is killed the same way.
// The deadline defaults to kBase plus kPerGiB for each GiB the step moves (the tree's memory and
// the GPU memory staged in it, or the image), `--criu-deadline SECONDS` sets it.
#pragma once

#include "util/time.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace gpucr {

inline constexpr std::chrono::seconds kCancelGrace{10};
inline constexpr std::chrono::seconds kCriuBase{120};
inline constexpr std::chrono::seconds kCriuPerGiB{20};

// kCriuBase + kCriuPerGiB per GiB of `bytes` (rounded up).
std::chrono::seconds criu_deadline_for(std::uint64_t bytes);

class CriuWatch {
 public:
  CriuWatch(TimeSource& time, std::chrono::milliseconds limit, std::string step);
  // Why criu must be stopped now, or nullopt while it may go on.
  std::optional<std::string> check();
  // When recovery may stop it at the latest (wall clock, ms since the epoch): the deadline plus
  // the cancellation grace.
  std::int64_t deadline_epoch_ms() const { return deadline_epoch_ms_; }

 private:
  TimeSource& time_;
  std::chrono::milliseconds limit_;
  std::string step_;
  TimeSource::Clock::time_point deadline_;
  std::optional<TimeSource::Clock::time_point> cancelled_at_;
  std::int64_t deadline_epoch_ms_ = 0;
};

}  // namespace gpucr
