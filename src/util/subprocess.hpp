// Running programs: argv vectors only (never a shell), with deadlines and kill.
#pragma once

#include "util/fd.hpp"
#include "util/result.hpp"

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace gpucr {

using Clock = std::chrono::steady_clock;

struct ExitStatus {
  int code = 0;    // exit code when !signaled
  int signal = 0;  // terminating signal when signaled
  bool signaled = false;

  bool success() const { return !signaled && code == 0; }
  // Shell convention: code, or 128 + signal.
  int shell_code() const { return signaled ? 128 + signal : code; }
  std::string describe() const;  // "exit code 3", "killed by signal 9 (Killed)"
  static ExitStatus from_wait_status(int ws);  // a waitpid() status
};

struct Command {
  std::vector<std::string> argv;          // argv[0] is the program (a path, or a name searched in PATH)
  std::map<std::string, std::string> env; // set in the child's environment (inherited otherwise)
  std::vector<std::string> unset_env;     // removed from the child's environment
  std::filesystem::path cwd;              // empty: inherit
  std::filesystem::path stdout_file;      // empty: inherit (or capture, see run_capture)
  std::filesystem::path stderr_file;      // empty: inherit; "=stdout" shares stdout
  bool stdin_null = true;
  bool new_session = false;               // setsid(): own session and process group
  bool new_pgroup = false;                // setpgid(0, 0): own process group (terminal signals miss it)
  bool hold = false;                      // child waits for Child::release() before exec
  bool die_with_parent = false;           // SIGKILL when the spawning thread (or gpucr) dies
  std::vector<int> keep_fds;              // fds the child keeps (others are close-on-exec)

  std::string display() const;            // argv joined with spaces, for messages only
};

class Child {
 public:
  Child() = default;
  Child(pid_t pid, UniqueFd pidfd, UniqueFd hold_fd, UniqueFd out, UniqueFd err)
      : pid_(pid), pidfd_(std::move(pidfd)), hold_(std::move(hold_fd)), out_(std::move(out)),
        err_(std::move(err)) {}
  Child(Child&& o) noexcept
      : pid_(std::exchange(o.pid_, -1)), pidfd_(std::move(o.pidfd_)), hold_(std::move(o.hold_)),
        out_(std::move(o.out_)), err_(std::move(o.err_)) {}
  Child& operator=(Child&& o) noexcept;
  ~Child();  // a child still running is killed and reaped: never leak one

  pid_t pid() const { return pid_; }
  // Lets a child started with Command::hold go on to exec.
  void release();
  // Waits until the child ends or `deadline` passes (nullopt: timed out; the child runs on).
  std::optional<ExitStatus> wait_until(Clock::time_point deadline);
  // The same, but returns (nullopt) as soon as `wake_fd` is readable (-1: none).
  std::optional<ExitStatus> wait_until(Clock::time_point deadline, int wake_fd);
  ExitStatus wait();
  void kill(int sig);
  // Signals the child's process group (a child started with new_pgroup or new_session leads it).
  void kill_group(int sig);
  bool running() const { return pid_ > 0; }
  // Pipes of run_capture-style children.
  int stdout_fd() const { return out_.get(); }
  int stderr_fd() const { return err_.get(); }
  // Forgets the child: it is not killed or reaped by this object.
  pid_t detach();

 private:
  pid_t pid_ = -1;
  UniqueFd pidfd_;
  UniqueFd hold_;
  UniqueFd out_;
  UniqueFd err_;
};

// Starts `cmd`. With `capture`, stdout and stderr go to pipes read by run_capture.
// Fails when the program cannot be found or executed (the exec error is reported here, not as
// an exit code).
Result<Child> spawn(const Command& cmd, bool capture = false);

struct Captured {
  ExitStatus status;
  std::string out;
  std::string err;
};

// Runs `cmd` to the end, capturing stdout and stderr. When `timeout` passes the child is killed
// with SIGKILL and the result is an error saying so.
Result<Captured> run_capture(const Command& cmd, std::chrono::milliseconds timeout);

// Finds `name` in PATH (or checks it when it contains a '/'); empty when not found/executable.
std::filesystem::path find_program(const std::string& name);

}  // namespace gpucr
