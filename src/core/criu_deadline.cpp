#include "core/criu_deadline.hpp"

#include "util/signals.hpp"
#include "util/strings.hpp"

#include <cstring>

namespace gpucr {

std::chrono::seconds criu_deadline_for(std::uint64_t bytes) {
  constexpr std::uint64_t GiB = 1ull << 30;
  return kCriuBase + kCriuPerGiB * static_cast<long>((bytes + GiB - 1) / GiB);
}

CriuWatch::CriuWatch(TimeSource& time, std::chrono::milliseconds limit, std::string step)
    : time_(time), limit_(limit), step_(std::move(step)), deadline_(time.now() + limit) {
  auto wall = std::chrono::system_clock::now() + limit + kCancelGrace;
  deadline_epoch_ms_ = std::chrono::duration_cast<std::chrono::milliseconds>(wall.time_since_epoch()).count();
}

std::optional<std::string> CriuWatch::check() {
  auto now = time_.now();
  if (now >= deadline_) {
    return step_ + " did not finish within " + format_duration(limit_) + " (--criu-deadline)";
  }
  if (signals::cancel_requested()) {
    if (!cancelled_at_) cancelled_at_ = now;
    if (now - *cancelled_at_ >= kCancelGrace) {
      return std::string("gpucr was asked to stop (SIG") + sigabbrev_np(signals::cancel_signal()) + ") and " + step_ +
             " did not end within " + format_duration(kCancelGrace);
    }
  }
  return std::nullopt;
}

}  // namespace gpucr
