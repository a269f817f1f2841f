// The clock seam: what gpucr's waits and deadlines read. Real: SteadyTime. Fake: tests/unit/
// fakes.hpp (FakeTime, whose sleep_for advances its own clock at once, so a test of a
// ten-second deadline runs in microseconds).
#pragma once

#include <chrono>

namespace gpucr {

class TimeSource {
 public:
  using Clock = std::chrono::steady_clock;
  virtual ~TimeSource() = default;
  virtual Clock::time_point now() const = 0;
  // Wall-clock time (deadlines written to files other processes read).
  virtual std::chrono::system_clock::time_point wall() const = 0;
  virtual void sleep_for(std::chrono::milliseconds d) = 0;
};

class SteadyTime : public TimeSource {
 public:
  Clock::time_point now() const override;
  std::chrono::system_clock::time_point wall() const override;
  void sleep_for(std::chrono::milliseconds d) override;
};

}  // namespace gpucr
