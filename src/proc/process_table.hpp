// The process table seam: what gpucr reads about processes. Real: ProcFs (/proc). Fake:
// tests/unit/fakes.hpp (FakeProcessTable).
#pragma once

#include "util/result.hpp"

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace gpucr::proc {

struct ProcInfo {
  pid_t pid = 0;
  pid_t ppid = 0;
  pid_t pgid = 0;
  pid_t sid = 0;
  char state = '?';                 // R, S, D, T, t, Z, X, ...
  std::string comm;
  std::uint64_t start_time = 0;     // clock ticks after boot; with pid, identifies a process
  int threads = 1;
  std::vector<pid_t> nspid;         // outermost (this namespace) first, innermost last
  std::uint64_t rss_bytes = 0;      // VmRSS
  unsigned flags = 0;               // the kernel's PF_* flags (/proc/PID/stat field 9)

  bool kernel_thread() const { return (flags & 0x00200000u) != 0; }  // PF_KTHREAD
};

struct FdEntry {
  int fd = -1;
  std::string target;               // readlink of /proc/PID/fd/N
};

// Identity of a process that survives pid reuse: a recycled pid has another start time.
struct ProcessId {
  pid_t pid = 0;
  std::uint64_t start_time = 0;
  bool operator==(const ProcessId&) const = default;
};

class ProcessTable {
 public:
  virtual ~ProcessTable() = default;
  virtual Result<ProcInfo> info(pid_t pid) const = 0;
  virtual Result<std::vector<pid_t>> children(pid_t pid) const = 0;
  virtual Result<std::vector<pid_t>> all_pids() const = 0;
  virtual Result<std::vector<FdEntry>> fds(pid_t pid) const = 0;
  // Distinct paths of file-backed mappings (from /proc/PID/maps).
  virtual Result<std::vector<std::string>> mapped_files(pid_t pid) const = 0;
  // Every file-backed mapping's path, once per mapping (default: mapped_files()).
  virtual Result<std::vector<std::string>> mappings(pid_t pid) const { return mapped_files(pid); }
  // Raw /proc/PID/cgroup.
  virtual Result<std::string> cgroup(pid_t pid) const = 0;
  // Identity of the pid namespace the process lives in (readlink of /proc/PID/ns/pid).
  virtual Result<std::string> pid_namespace(pid_t pid) const = 0;

  // MemAvailable from /proc/meminfo, in bytes (fakes override it).
  virtual Result<std::uint64_t> mem_available() const;

  // True when `id` still names the same live (non-zombie) process.
  bool alive(const ProcessId& id) const;
};

// This process's own identity, from /proc/self (never through a fake table).
Result<ProcessId> self_id();

// `root` and all its descendants, root first, then depth-first in pid order.
Result<std::vector<ProcInfo>> process_tree(const ProcessTable& table, pid_t root);

// Maps `nspid`, a pid as seen inside the pid namespace that `ns_member` (a host pid) lives in,
// to its host pid. Used after a restore gives a container's processes new host pids.
Result<pid_t> host_pid_for_nspid(const ProcessTable& table, pid_t ns_member, pid_t nspid);

class ProcFs : public ProcessTable {
 public:
  explicit ProcFs(std::string root = "/proc") : root_(std::move(root)) {}
  Result<ProcInfo> info(pid_t pid) const override;
  Result<std::vector<pid_t>> children(pid_t pid) const override;
  Result<std::vector<pid_t>> all_pids() const override;
  Result<std::vector<FdEntry>> fds(pid_t pid) const override;
  Result<std::vector<std::string>> mapped_files(pid_t pid) const override;
  Result<std::vector<std::string>> mappings(pid_t pid) const override;
  Result<std::string> cgroup(pid_t pid) const override;
  Result<std::string> pid_namespace(pid_t pid) const override;

 private:
  std::string path(pid_t pid, const char* leaf) const;
  std::string root_;
};

// Parses the text of /proc/PID/stat and /proc/PID/status into `out` (exposed for tests).
Status parse_stat(std::string_view stat, ProcInfo& out);
Status parse_status(std::string_view status, ProcInfo& out);

}  // namespace gpucr::proc
