// Test support: temporary directories, byte strings, and hand-built CRIU image files
// (inventory.img, pstree.img, stats-dump) in the framing criu/image.hpp documents.
#pragma once

#include "criu/image.hpp"
#include "criu/inventory.hpp"
#include "criu/stats.hpp"
#include "util/file.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <initializer_list>
#include <string>
#include <vector>

namespace gpucr::fakes {

// A fresh directory under $TMPDIR (default /tmp), removed with everything in it at scope end.
class TempDir {
 public:
  TempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string tmpl = std::string(base && *base ? base : "/tmp") + "/gpucr-unit.XXXXXX";
    if (::mkdtemp(tmpl.data()) == nullptr) std::abort();
    path_ = tmpl;
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }
  fs::path operator/(const std::string& name) const { return path_ / name; }

 private:
  fs::path path_;
};

// Bytes from a list of values 0..255.
inline std::string bytes(std::initializer_list<int> values) {
  std::string out;
  for (int v : values) out.push_back(static_cast<char>(v));
  return out;
}

inline std::string slurp(const fs::path& p) {
  auto r = read_file(p);
  return r ? *r : std::string("<unreadable>");
}

inline mode_t mode_of(const fs::path& p) {
  struct stat st {};
  if (::stat(p.c_str(), &st) != 0) return 0;
  return st.st_mode & 07777;
}

inline ino_t inode_of(const fs::path& p) {
  struct stat st {};
  if (::stat(p.c_str(), &st) != 0) return 0;
  return st.st_ino;
}

inline void put_file(const fs::path& p, const std::string& data) {
  if (!write_file_atomic(p, data, 0600)) std::abort();
}

// docs/FACTS.md §3: an inventory listing "cuda_plugin", and one with an empty plugins field.
inline std::string inventory_cuda_plugin() {
  return bytes({0x16, 0x31, 0x31, 0x58, 0x13, 0x00, 0x00, 0x00, 0x08, 0x02, 0x10, 0x01, 0x62, 0x0d, 0x62, 0x0b}) +
         "cuda_plugin";
}
inline std::string inventory_empty_plugins() {
  return bytes({0x16, 0x31, 0x31, 0x58, 0x06, 0x00, 0x00, 0x00, 0x08, 0x02, 0x10, 0x01, 0x62, 0x00});
}

// A pstree.img: one entry per process, {pid, ppid, threads}; pgid and sid are the first pid.
struct PstreeProc {
  pid_t pid;
  pid_t ppid;
  std::vector<pid_t> threads;
};
inline std::string pstree_image(const std::vector<PstreeProc>& procs) {
  std::vector<std::string> entries;
  for (const auto& p : procs) {
    criu::PstreeEntry e;
    e.set_pid(static_cast<std::uint32_t>(p.pid));
    e.set_ppid(static_cast<std::uint32_t>(p.ppid));
    e.set_pgid(static_cast<std::uint32_t>(procs.front().pid));
    e.set_sid(static_cast<std::uint32_t>(procs.front().pid));
    for (pid_t t : p.threads) e.add_threads(static_cast<std::uint32_t>(t));
    entries.push_back(e.SerializeAsString());
  }
  return criu::join_entries({criu::kMagicCommon, criu::kMagicPstree}, entries);
}

inline std::string stats_image(const criu::StatsEntry& s) {
  return criu::join_entries({criu::kMagicService, criu::kMagicStats}, {s.SerializeAsString()});
}

// `want` appear in `all` in this order (other entries may come between): drivers gain phases
// as features land, tests name the ones they are about.
inline bool in_order(const std::vector<std::string>& all, const std::vector<std::string>& want) {
  size_t i = 0;
  for (const auto& a : all) {
    if (i < want.size() && a == want[i]) ++i;
  }
  return i == want.size();
}

// argv has `flag` followed by `value`.
inline bool has_arg(const std::vector<std::string>& argv, const std::string& flag, const std::string& value) {
  for (size_t i = 0; i + 1 < argv.size(); ++i) {
    if (argv[i] == flag && argv[i + 1] == value) return true;
  }
  return false;
}

}  // namespace gpucr::fakes
