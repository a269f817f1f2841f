#include "cli/output.hpp"
#include "util/json.hpp"

#include "util/log.hpp"
#include "util/strings.hpp"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <iostream>
#include <mutex>
#include <thread>

namespace gpucr::cli {

int print_error(const Error& e) {
  std::string out = "gpucr: error: " + e.what + "\n";
  for (const auto& d : e.details) out += "  " + d + "\n";
  if (!e.hint.empty()) out += "  hint: " + e.hint + "\n";
  std::fputs(out.c_str(), stderr);
  return static_cast<int>(e.exit);
}

namespace {

class LineProgress : public Progress {
 public:
  void begin(std::string_view, std::function<std::string()>) override {}
  void end(std::string_view phase, std::chrono::nanoseconds took, bool ok) override {
    if (log::level() >= log::Level::quiet) return;
    std::string line = "gpucr: " + std::string(phase) + " " + format_duration(took) + (ok ? "" : " FAILED") + "\n";
    std::fputs(line.c_str(), stderr);
  }
  void note(std::string_view line) override {
    if (log::level() >= log::Level::quiet) return;
    std::fputs(("gpucr: " + std::string(line) + "\n").c_str(), stderr);
  }
};

// Redraws "  <phase> 1.2s <detail>" every 200 ms; prints a final line when the phase ends.
class TtyProgress : public Progress {
 public:
  ~TtyProgress() override { stop(); }
  void begin(std::string_view phase, std::function<std::string()> detail) override {
    stop();
    phase_ = std::string(phase);
    detail_ = std::move(detail);
    start_ = std::chrono::steady_clock::now();
    running_ = true;
    ticker_ = std::thread([this] { tick(); });
  }
  void end(std::string_view phase, std::chrono::nanoseconds took, bool ok) override {
    stop();
    std::string line = "\r\033[K  " + std::string(ok ? "ok  " : "FAIL") + "  " + pad(std::string(phase)) +
                       format_duration(took) + "\n";
    std::fputs(line.c_str(), stderr);
  }
  void note(std::string_view line) override {
    std::lock_guard lock(mu_);
    std::fputs(("\r\033[K  " + std::string(line) + "\n").c_str(), stderr);
  }

 private:
  static std::string pad(std::string s) {
    if (s.size() < 22) s.append(22 - s.size(), ' ');
    return s;
  }
  void tick() {
    static const char* spin = "|/-\\";
    int i = 0;
    std::unique_lock lock(mu_);
    while (running_) {
      auto el = std::chrono::steady_clock::now() - start_;
      std::string d = detail_ ? detail_() : std::string();
      std::string line = "\r\033[K  " + std::string(1, spin[i++ % 4]) + "     " + pad(phase_) + format_duration(el) +
                         (d.empty() ? "" : "  " + d);
      std::fputs(line.c_str(), stderr);
      std::fflush(stderr);
      cv_.wait_for(lock, std::chrono::milliseconds(200));
    }
  }
  void stop() {
    {
      std::lock_guard lock(mu_);
      running_ = false;
    }
    cv_.notify_all();
    if (ticker_.joinable()) ticker_.join();
  }
  std::string phase_;
  std::function<std::string()> detail_;
  std::chrono::steady_clock::time_point start_;
  bool running_ = false;
  std::mutex mu_;
  std::condition_variable cv_;
  std::thread ticker_;
};

}  // namespace

std::unique_ptr<Progress> make_progress() {
  if (log::level() >= log::Level::quiet) return std::make_unique<NullProgress>();
  if (::isatty(2)) return std::make_unique<TtyProgress>();
  return std::make_unique<LineProgress>();
}

std::string phase_table(const std::vector<PhaseTiming>& phases) {
  size_t width = 22;  // the names and their durations line up, two spaces apart at least
  for (const auto& p : phases) width = std::max(width, p.name.size() + 2);
  std::string out;
  for (const auto& p : phases) {
    std::string name = p.name;
    name.append(width - name.size(), ' ');
    out += "  " + name + format_duration(p.took) + (p.ok ? "" : "  FAILED") + "\n";
  }
  return out;
}

nlohmann::json phases_json(const std::vector<PhaseTiming>& phases) {
  auto arr = nlohmann::json::array();
  for (const auto& p : phases) {
    arr.push_back({{"name", p.name}, {"seconds", std::chrono::duration<double>(p.took).count()}, {"ok", p.ok}});
  }
  return arr;
}

nlohmann::json error_json(const Error& e) {
  return {{"message", e.what}, {"hint", e.hint}, {"details", e.details}, {"exit_code", static_cast<int>(e.exit)}};
}

void print_cuda_report(const std::vector<std::string>& lines, bool ok) {
  for (const auto& line : lines) std::fprintf(ok ? stdout : stderr, "  CUDA %s\n", line.c_str());
}

std::optional<int> finish_report(const Status& status, const std::vector<std::string>& cuda_report,
                                 const std::vector<PhaseTiming>& phases, bool json) {
  if (!json) print_cuda_report(cuda_report, status.ok());
  if (!status) return json ? static_cast<int>(status.error().exit) : print_error(status.error());
  if (!json) std::fputs(phase_table(phases).c_str(), stdout);
  return std::nullopt;
}

void print_json(const nlohmann::json& doc) { std::cout << json_text(doc, 2) << std::endl; }

}  // namespace gpucr::cli
