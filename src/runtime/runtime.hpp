// The OCI runtime seam: what gpucr asks of runc/crun. Real: CliRuntime (cli_runtime.hpp) runs
// the runtime's command line; fake: tests/unit/container_fakes.hpp.
#pragma once

#include "util/subprocess.hpp"

#include <algorithm>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace gpucr::runtime {

namespace fs = std::filesystem;

// `<runtime> state ID` (the OCI state plus runc's extras):
//   {"ociVersion": "1.0.2-dev", "id": "c1", "pid": 12867, "status": "running",
//    "bundle": "/path", "rootfs": "/path/rootfs", "created": "...", "owner": "",
//    "annotations": {"k": "v"}}            (annotations only when the config has some)
// status: creating, created, running, paused or stopped; pid 0 once stopped.
struct ContainerState {
  std::string oci_version;
  std::string id;
  std::string status;
  pid_t pid = 0;
  fs::path bundle;
  fs::path rootfs;
  std::map<std::string, std::string> annotations;
};

// Parses the JSON above strictly (fields of the wrong type are errors; unknown ones ignored).
// `id` names the container in messages.
Result<ContainerState> parse_state_json(std::string_view json, const std::string& id);

// A runtime command started by Runtime::start.
class Running {
 public:
  virtual ~Running() = default;  // a command still running is killed and reaped
  virtual pid_t pid() const = 0;
  // nullopt: still running at `deadline`.
  virtual std::optional<ExitStatus> wait_until(Clock::time_point deadline) = 0;
  // The same, but returns (nullopt) early once `wake_fd` is readable. This default ignores the
  // fd and waits at most 20 ms, so a caller's loop still gets to it.
  virtual std::optional<ExitStatus> wait_until(Clock::time_point deadline, int wake_fd) {
    (void)wake_fd;
    return wait_until(std::min(deadline, Clock::now() + std::chrono::milliseconds(20)));
  }
  virtual void kill(int sig) = 0;
  // Signals the command's whole process group: the runtime and the criu it started (a runtime
  // command runs in a process group of its own). Default: the command only.
  virtual void kill_group(int sig) { kill(sig); }
};

class Runtime {
 public:
  virtual ~Runtime() = default;
  // "runc", "crun" or the file name: for messages and the manifest.
  virtual std::string name() const = 0;
  virtual fs::path path() const = 0;
  // Global options put before every command (--root DIR, ...), verbatim.
  virtual std::vector<std::string> globals() const = 0;
  virtual Result<ContainerState> state(const std::string& id) = 0;
  // Starts `<runtime> GLOBALS... args...` with gpucr's stdin, stdout, stderr, environment (plus
  // `env`) and inheritable fds: for a restore these become the container's stdio. `started`
  // gets the runtime's pid before it execs, so a journal can name it before it does anything;
  // such a command runs in a process group of its own (Running::kill_group).
  using Env = std::map<std::string, std::string>;
  using Started = std::function<void(pid_t)>;
  virtual Result<std::unique_ptr<Running>> start(const std::vector<std::string>& args, const Env& env = {},
                                                 const Started& started = {}) = 0;
};

// Opens runtimes by path: the seam that gives the drivers, the hooks and recovery a Runtime.
// Real: CliRuntimeFactory (cli_runtime.hpp). Fake: tests/unit/container_fakes.hpp.
class RuntimeFactory {
 public:
  virtual ~RuntimeFactory() = default;
  virtual std::unique_ptr<Runtime> open(const fs::path& path, const std::vector<std::string>& globals) = 0;
};

// Runs `<runtime> args...` to its end (at most `timeout`); fails naming the command and status.
Status run_to_end(Runtime& rt, const std::vector<std::string>& args, std::chrono::milliseconds timeout);

// Waits for `r` to end, forwarding SIGINT, SIGTERM and SIGHUP that gpucr receives to it.
ExitStatus wait_forwarding_signals(Running& r);

}  // namespace gpucr::runtime
