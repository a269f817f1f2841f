#include "util/log.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>

namespace gpucr::log {

namespace {
Level g_level = Level::warn;
int g_file = -1;
std::mutex g_mutex;

const char* name(Level l) {
  switch (l) {
    case Level::debug: return "debug";
    case Level::info: return "info";
    case Level::warn: return "warning";
    case Level::error: return "error";
    case Level::quiet: return "";
  }
  return "";
}

void write_all(int fd, const std::string& s) {
  const char* p = s.data();
  size_t left = s.size();
  while (left > 0) {
    ssize_t n = ::write(fd, p, left);
    if (n <= 0) return;
    p += n;
    left -= static_cast<size_t>(n);
  }
}
}  // namespace

bool parse_level(std::string_view s, Level& out) {
  for (Level l : {Level::debug, Level::info, Level::warn, Level::error, Level::quiet}) {
    if (s == name(l) || (l == Level::warn && s == "warn") || (l == Level::quiet && s == "quiet")) {
      out = l;
      return true;
    }
  }
  return false;
}

void set_level(Level l) { g_level = l; }
Level level() { return g_level; }

bool set_file(const std::filesystem::path& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) return false;
  std::lock_guard lock(g_mutex);
  if (g_file >= 0) ::close(g_file);
  g_file = fd;
  return true;
}

void write(Level l, std::string_view msg) {
  if (l < g_level && g_file < 0) return;
  std::string line = "gpucr: " + std::string(name(l)) + ": " + std::string(msg) + "\n";
  std::lock_guard lock(g_mutex);
  if (l >= g_level) write_all(2, line);
  if (g_file >= 0) {
    auto now = std::chrono::system_clock::now();
    std::time_t t = std::chrono::system_clock::to_time_t(now);
    char ts[32];
    std::strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", std::gmtime(&t));
    write_all(g_file, std::string(ts) + "Z [" + std::to_string(::getpid()) + "] " + line.substr(7));
  }
}

}  // namespace gpucr::log
