// criu command lines, built as argv vectors from plain option structs.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace gpucr::criu {

// Every criu flag a gpucr user can set: the one place they live (core/request.hpp says how each
// reaches the criu a container's runtime runs).
struct Options {
  bool tcp_established = false;
  bool shell_job = false;
  bool ext_unix_sk = false;
  bool file_locks = false;
  std::string manage_cgroups_mode;                     // empty: criu's default
  // criu -vN; unset: 2 (errors and warnings, criu's default; enough for gpucr's error excerpts),
  // faster on large images than 4 (debug lines with timestamps, as runc asks for), which keeps
  // the most for a post-mortem (docs/BENCHMARKS.md, GPU section).
  std::optional<int> log_level;
  std::optional<int> timeout_s;                        // dump: --timeout (seizing the tree)
  std::optional<std::filesystem::path> freeze_cgroup;  // dump: --freeze-cgroup: criu freezes it to seize tasks
  std::optional<std::filesystem::path> plugins_dir;    // where CRIU's plugins are (gpucr's --criu-plugins-dir)
};

// A criu command line: the user's options plus what gpucr adds.
struct CommonFlags : Options {
  std::optional<std::filesystem::path> libdir;         // -L: gpucr's private plugin directory
  std::optional<std::filesystem::path> action_script;
};

struct DumpFlags : CommonFlags {
  pid_t pid = 0;
  std::filesystem::path image_dir;
  std::filesystem::path work_dir;
  bool leave_running = false;
  // Interrupt-only mode: criu seizes the tasks with ptrace alone, never through the cgroup
  // freezer. Required once gpucr thawed the tree's cgroup for GPU work (the GPU processes must
  // keep running until criu stops them); dump_args then never emits --freeze-cgroup.
  bool interrupt_only = false;
};

struct RestoreFlags : CommonFlags {
  std::filesystem::path image_dir;
  std::filesystem::path work_dir;
  bool detach = true;         // -d: criu returns once the tree runs
  bool sibling = true;        // --restore-sibling: the tree becomes a child of criu's parent
  std::optional<std::filesystem::path> pidfile;
};

inline constexpr const char* kDumpLog = "dump.log";
inline constexpr const char* kRestoreLog = "restore.log";

std::vector<std::string> dump_args(const DumpFlags& f);
std::vector<std::string> restore_args(const RestoreFlags& f);

}  // namespace gpucr::criu
