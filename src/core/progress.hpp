// Progress of a long operation: phases starting and ending. The CLI shows it (a live line on a
// terminal, one line per phase otherwise); tests record it.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <string_view>

namespace gpucr {

class Progress {
 public:
  virtual ~Progress() = default;
  // `detail`, when given, is polled while the phase runs for a short live status
  // ("1.2 GiB written").
  virtual void begin(std::string_view phase, std::function<std::string()> detail = {}) = 0;
  virtual void end(std::string_view phase, std::chrono::nanoseconds took, bool ok) = 0;
  // A line of information worth showing as it happens (e.g. per-process outcomes).
  virtual void note(std::string_view line) = 0;
};

class NullProgress : public Progress {
 public:
  void begin(std::string_view, std::function<std::string()>) override {}
  void end(std::string_view, std::chrono::nanoseconds, bool) override {}
  void note(std::string_view) override {}
};

}  // namespace gpucr
