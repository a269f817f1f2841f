#include "util/subprocess.hpp"

#include "util/strings.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

extern char** environ;

namespace gpucr {

std::string ExitStatus::describe() const {
  if (signaled) return "killed by signal " + std::to_string(signal) + " (" + strsignal(signal) + ")";
  return "exit code " + std::to_string(code);
}

ExitStatus ExitStatus::from_wait_status(int ws) {
  ExitStatus s;
  if (WIFSIGNALED(ws)) {
    s.signaled = true;
    s.signal = WTERMSIG(ws);
  } else {
    s.code = WEXITSTATUS(ws);
  }
  return s;
}

std::string Command::display() const { return join(argv, " "); }

std::filesystem::path find_program(const std::string& name) {
  if (name.empty()) return {};
  if (name.find('/') != std::string::npos) {
    return ::access(name.c_str(), X_OK) == 0 ? std::filesystem::path(name) : std::filesystem::path();
  }
  const char* path = std::getenv("PATH");
  for (const auto& dir : split(path ? path : "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", ':')) {
    if (dir.empty()) continue;
    std::filesystem::path p = std::filesystem::path(dir) / name;
    if (::access(p.c_str(), X_OK) == 0 && std::filesystem::is_regular_file(p)) return p;
  }
  return {};
}

namespace {

std::vector<std::string> child_environment(const Command& cmd) {
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e) {
    std::string_view kv(*e);
    std::string key(kv.substr(0, kv.find('=')));
    if (cmd.env.count(key)) continue;
    bool drop = false;
    for (const auto& u : cmd.unset_env) drop = drop || u == key;
    if (!drop) env.emplace_back(kv);
  }
  for (const auto& [k, v] : cmd.env) env.push_back(k + "=" + v);
  return env;
}

std::vector<char*> c_array(std::vector<std::string>& v) {
  std::vector<char*> out;
  for (auto& s : v) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

// In the child after fork: only async-signal-safe calls until exec.
[[noreturn]] void child_exec(const Command& cmd, const char* prog, char** argv, char** envp,
                             int out_fd, int err_fd, int hold_fd, int report_fd, pid_t parent) {
  auto die = [&](int err) {
    ssize_t ignored = ::write(report_fd, &err, sizeof err);
    (void)ignored;
    ::_exit(127);
  };
  // die() never returns; the compiler can't see that through the lambda.
  sigset_t all;
  sigemptyset(&all);
  ::sigprocmask(SIG_SETMASK, &all, nullptr);
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGPIPE, SIGCHLD}) ::signal(sig, SIG_DFL);
  if (cmd.die_with_parent) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(126);  // the parent died before prctl
  }
  if (hold_fd >= 0) {
    char go = 0;
    ssize_t n;
    do {
      n = ::read(hold_fd, &go, 1);
    } while (n < 0 && errno == EINTR);
    if (n != 1) ::_exit(126);  // the parent went away before releasing us: do nothing
    ::close(hold_fd);
  }
  if (cmd.new_session && ::setsid() < 0) die(errno);
  if (cmd.new_pgroup && !cmd.new_session && ::setpgid(0, 0) < 0) die(errno);
  if (cmd.stdin_null) {
    int nul = ::open("/dev/null", O_RDONLY);
    if (nul < 0 || ::dup2(nul, 0) < 0) die(errno);
    if (nul > 2) ::close(nul);
  }
  if (out_fd >= 0 && ::dup2(out_fd, 1) < 0) die(errno);
  if (err_fd >= 0 && ::dup2(err_fd, 2) < 0) die(errno);
  for (int fd : cmd.keep_fds) {
    int flags = ::fcntl(fd, F_GETFD);
    if (flags >= 0) ::fcntl(fd, F_SETFD, flags & ~FD_CLOEXEC);
  }
  if (!cmd.cwd.empty() && ::chdir(cmd.cwd.c_str()) != 0) die(errno);
  ::execve(prog, argv, envp);
  die(errno);
  __builtin_unreachable();
}

UniqueFd open_output(const std::filesystem::path& p) {
  return UniqueFd(::open(p.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600));
}

struct Pipe {
  UniqueFd r, w;
};

Result<Pipe> make_pipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return fail(sys_error("pipe", errno));
  return Pipe{UniqueFd(fds[0]), UniqueFd(fds[1])};
}

// The descriptors around one child: what it writes to (out_w, err_w), what the parent reads
// from (captured output), the pipe it reports an exec failure on, and the one it waits on
// before exec (Command::hold).
struct ChildFds {
  UniqueFd out_w, err_w, out_r, err_r;
  Pipe report;
  Pipe hold;
};

Result<ChildFds> child_fds(const Command& cmd, bool capture) {
  ChildFds f;
  if (capture) {
    Pipe out = GPUCR_TRY(make_pipe());
    Pipe err = GPUCR_TRY(make_pipe());
    f.out_r = std::move(out.r);
    f.out_w = std::move(out.w);
    f.err_r = std::move(err.r);
    f.err_w = std::move(err.w);
  }
  if (!cmd.stdout_file.empty()) {
    f.out_w = open_output(cmd.stdout_file);
    if (!f.out_w) return fail(sys_error("cannot open " + cmd.stdout_file.string(), errno));
  }
  if (cmd.stderr_file == "=stdout") {
    f.err_w.reset(::fcntl(f.out_w ? f.out_w.get() : 1, F_DUPFD_CLOEXEC, 3));
  } else if (!cmd.stderr_file.empty()) {
    f.err_w = open_output(cmd.stderr_file);
    if (!f.err_w) return fail(sys_error("cannot open " + cmd.stderr_file.string(), errno));
  }
  f.report = GPUCR_TRY(make_pipe());
  if (cmd.hold) f.hold = GPUCR_TRY(make_pipe());
  return f;
}

}  // namespace

Result<Child> spawn(const Command& cmd, bool capture) {
  if (cmd.argv.empty()) return fail(Error("internal: empty command", Exit::internal));
  std::filesystem::path prog = find_program(cmd.argv[0]);
  if (prog.empty()) {
    return fail(Error("cannot run " + cmd.argv[0] + ": not found or not executable", Exit::missing_dependency));
  }
  std::string prog_s = prog.string();
  std::vector<std::string> args = cmd.argv;
  std::vector<std::string> env = child_environment(cmd);
  std::vector<char*> argv = c_array(args);
  std::vector<char*> envp = c_array(env);
  ChildFds f = GPUCR_TRY(child_fds(cmd, capture));

  pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) return fail(sys_error("cannot fork to run " + cmd.argv[0], errno));
  if (pid == 0) {
    child_exec(cmd, prog_s.c_str(), argv.data(), envp.data(), f.out_w.get(), f.err_w.get(), f.hold.r.get(),
               f.report.w.get(), parent);
  }
  f.report.w.reset();
  f.hold.r.reset();
  UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  Child child(pid, std::move(pidfd), std::move(f.hold.w), std::move(f.out_r), std::move(f.err_r));
  if (!cmd.hold) {
    int err = 0;
    ssize_t n;
    do {
      n = ::read(f.report.r.get(), &err, sizeof err);
    } while (n < 0 && errno == EINTR);
    if (n == sizeof err) {
      child.wait();
      return fail(sys_error("cannot run " + prog_s, err).with_exit(Exit::missing_dependency));
    }
  }
  return child;
}

Child::~Child() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    int ws;
    while (::waitpid(pid_, &ws, 0) < 0 && errno == EINTR) {
    }
  }
}

Child& Child::operator=(Child&& o) noexcept {
  if (this != &o) {
    Child dead(std::move(*this));  // kills and reaps what this held
    pid_ = std::exchange(o.pid_, -1);
    pidfd_ = std::move(o.pidfd_);
    hold_ = std::move(o.hold_);
    out_ = std::move(o.out_);
    err_ = std::move(o.err_);
  }
  return *this;
}

void Child::release() {
  if (hold_) {
    char go = 1;
    ssize_t ignored = ::write(hold_.get(), &go, 1);
    (void)ignored;
    hold_.reset();
  }
}

std::optional<ExitStatus> Child::wait_until(Clock::time_point deadline) { return wait_until(deadline, -1); }

std::optional<ExitStatus> Child::wait_until(Clock::time_point deadline, int wake_fd) {
  if (pid_ <= 0) return ExitStatus{};
  for (;;) {
    int ws = 0;
    pid_t r = ::waitpid(pid_, &ws, WNOHANG);
    if (r == pid_) {
      pid_ = -1;
      pidfd_.reset();
      return ExitStatus::from_wait_status(ws);
    }
    if (r < 0 && errno != EINTR) {
      pid_ = -1;
      return ExitStatus{.code = 255};
    }
    auto now = Clock::now();
    if (now >= deadline) return std::nullopt;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now).count();
    int ms = static_cast<int>(std::min<long long>(left + 1, 1000));
    if (pidfd_) {
      pollfd p[2] = {{pidfd_.get(), POLLIN, 0}, {wake_fd, POLLIN, 0}};
      int n = ::poll(p, wake_fd >= 0 ? 2 : 1, ms);
      if (n > 0 && wake_fd >= 0 && (p[1].revents & POLLIN) && !(p[0].revents & POLLIN)) return std::nullopt;
    } else {
      ::usleep(static_cast<useconds_t>(std::min(ms, 10)) * 1000);
    }
  }
}

ExitStatus Child::wait() { return *wait_until(Clock::time_point::max()); }

void Child::kill(int sig) {
  if (pid_ > 0) ::kill(pid_, sig);
}

void Child::kill_group(int sig) {
  if (pid_ > 0) ::kill(-pid_, sig);
}

pid_t Child::detach() {
  pidfd_.reset();
  return std::exchange(pid_, -1);
}

Result<Captured> run_capture(const Command& cmd, std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  Child child = GPUCR_TRY(spawn(cmd, /*capture=*/true));
  Captured c;
  pollfd fds[2] = {{child.stdout_fd(), POLLIN, 0}, {child.stderr_fd(), POLLIN, 0}};
  std::string* bufs[2] = {&c.out, &c.err};
  int open_pipes = 2;
  while (open_pipes > 0) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) break;
    int n = ::poll(fds, 2, static_cast<int>(std::min<long long>(left, 1000)));
    if (n < 0 && errno != EINTR) break;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      char buf[8192];
      ssize_t r = ::read(fds[i].fd, buf, sizeof buf);
      if (r > 0) {
        bufs[i]->append(buf, static_cast<size_t>(r));
      } else if (r == 0 || errno != EINTR) {
        fds[i].fd = -1;
        --open_pipes;
      }
    }
  }
  auto st = child.wait_until(deadline);
  if (!st) {
    child.kill(SIGKILL);
    child.wait();
    return fail(Error(cmd.argv[0] + " did not finish within " + format_duration(timeout) +
                      " and was killed"));
  }
  c.status = *st;
  return c;
}

}  // namespace gpucr
