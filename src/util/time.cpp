#include "util/time.hpp"

#include <thread>

namespace gpucr {

TimeSource::Clock::time_point SteadyTime::now() const { return Clock::now(); }

std::chrono::system_clock::time_point SteadyTime::wall() const { return std::chrono::system_clock::now(); }

void SteadyTime::sleep_for(std::chrono::milliseconds d) { std::this_thread::sleep_for(d); }

}  // namespace gpucr
