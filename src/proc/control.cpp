#include "proc/control.hpp"

#include "util/fd.hpp"

#include <poll.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>

namespace gpucr::proc {

Status SystemControl::kill(const ProcessId& id, int sig) {
  UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, id.pid, 0)));
  if (!pidfd) return {};  // gone
  // The pidfd pins this very process: check it is still the one `id` names.
  if (!procs_.alive(id)) return {};
  if (::syscall(SYS_pidfd_send_signal, pidfd.get(), sig, nullptr, 0) != 0 && errno != ESRCH) {
    return fail(sys_error("cannot signal pid " + std::to_string(id.pid), errno));
  }
  return {};
}

Status SystemControl::kill_group(const ProcessId& leader, int sig) {
  if (!procs_.alive(leader)) return {};
  auto info = procs_.info(leader.pid);
  if (!info || info->pgid != leader.pid) return kill(leader, sig);  // not a group leader: just it
  if (::kill(-leader.pid, sig) != 0 && errno != ESRCH) {
    return fail(sys_error("cannot signal the process group of pid " + std::to_string(leader.pid), errno));
  }
  return {};
}

std::optional<ExitStatus> SystemControl::reap(pid_t child, Clock::time_point deadline) {
  for (;;) {
    int ws = 0;
    pid_t r = ::waitpid(child, &ws, WNOHANG);
    if (r == child) return ExitStatus::from_wait_status(ws);
    if (r < 0 && errno != EINTR) return ExitStatus{};  // not our child (or reaped already)
    auto now = Clock::now();
    if (now >= deadline) return std::nullopt;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now).count();
    ::usleep(static_cast<useconds_t>(std::min<long long>(left + 1, 20)) * 1000);
  }
}

}  // namespace gpucr::proc
