// Shared by the libFuzzer harnesses of tests/fuzz (docs/FUZZING.md).
//
// Rules every harness follows:
//   - it calls the parser the way gpucr does, with the same follow-up use of what was parsed;
//   - it writes only inside private_dir(), a directory made once per process under $TMPDIR
//     (scripts/fuzz.sh points $TMPDIR at its scratch directory) and removed at exit; a file a
//     parser reads is rewritten in place for each input, never created anew;
//   - it is deterministic (no clocks, no randomness, nothing read from the host that changes);
//   - a failed FUZZ_CHECK (a property the code promises), an escaping exception, a sanitizer
//     report or a leak is a crash.
#pragma once

#include "util/log.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <google/protobuf/stubs/logging.h>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace gpucr::fuzz {

namespace fs = std::filesystem;

#define FUZZ_CHECK(cond)                                                              \
  do {                                                                                \
    if (!(cond)) {                                                                    \
      std::fprintf(stderr, "FUZZ_CHECK failed: %s (%s:%d)\n", #cond, __FILE__, __LINE__); \
      std::abort();                                                                   \
    }                                                                                 \
  } while (0)

inline std::string_view as_text(const std::uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// gpucr's log and protobuf's are silenced: nothing a harness checks is logged, and stderr output
// is slow (protobuf logs every string that is not UTF-8).
inline const bool kQuietLog = (log::set_level(log::Level::quiet),
                               google::protobuf::SetLogHandler([](google::protobuf::LogLevel, const char*, int,
                                                                  const std::string&) {}),
                               true);

class PrivateDir {
 public:
  PrivateDir() {
    const char* base = std::getenv("TMPDIR");
    std::string tmpl = std::string(base && *base ? base : "/tmp") + "/gpucr-fuzz.XXXXXX";
    if (::mkdtemp(tmpl.data()) == nullptr) {
      std::perror("gpucr fuzz: mkdtemp");
      std::abort();
    }
    path_ = tmpl;
  }
  ~PrivateDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// This process's private directory (made on first use, removed at exit).
inline const fs::path& private_dir() {
  static PrivateDir dir;
  return dir.path();
}

// Overwrites `path` (inside private_dir()) with `data`; parent directories are made as needed.
// No fsync: the file lives only as long as this process.
inline void put(const fs::path& path, std::string_view data) {
  std::error_code ec;
  fs::create_directories(path.parent_path(), ec);
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    std::perror(("gpucr fuzz: open " + path.string()).c_str());
    std::abort();
  }
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n <= 0) std::abort();
    done += static_cast<size_t>(n);
  }
  ::close(fd);
}

// Splits `s` at every occurrence of `sep` (k separators give k + 1 parts).
inline std::vector<std::string> split_at(std::string_view s, std::string_view sep) {
  std::vector<std::string> out;
  for (;;) {
    size_t at = s.find(sep);
    if (at == std::string_view::npos) {
      out.emplace_back(s);
      return out;
    }
    out.emplace_back(s.substr(0, at));
    s.remove_prefix(at + sep.size());
  }
}

// Multi-file inputs (an image directory, a sysfs tree): parts separated by this line.
inline constexpr std::string_view kPartSeparator = "\n=|gpucr-fuzz|=\n";

}  // namespace gpucr::fuzz
