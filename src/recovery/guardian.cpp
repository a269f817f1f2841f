#include "recovery/guardian.hpp"

#include "recovery/recover.hpp"

#include "util/subprocess.hpp"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>

namespace gpucr::recovery {

Result<Guardian> Guardian::start(Journal& journal, const Seams& seams) {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return fail(sys_error("cannot create the guardian's pipe", errno));
  UniqueFd read_end(p[0]);
  Guardian g;
  g.pipe_.reset(p[1]);
  Command cmd{.argv = {seams.self_exe, self::kGuardian, "--journal", journal.path().string(), "--fd",
                       std::to_string(p[0])},
              .stdout_file = seams.run.file("guardian.log"),
              .stderr_file = "=stdout",
              .new_session = true,
              .keep_fds = {p[0]}};
  // What the guardian may run is gpucr's configuration, passed on its command line.
  if (seams.cuda_tool) cmd.argv.insert(cmd.argv.end(), {"--cuda-checkpoint", seams.cuda_tool->string()});
  if (seams.runtime) cmd.argv.insert(cmd.argv.end(), {"--runtime", seams.runtime->string()});
  auto child = GPUCR_TRY(spawn(cmd));
  pid_t pid = child.detach();
  auto info = seams.procs.info(pid);
  journal.data().guardian = proc::ProcessId{pid, info ? info->start_time : 0};
  GPUCR_TRY(journal.save());
  return g;
}

void log_recovery(const RunDir& run, const std::vector<std::string>& lines) {
  if (lines.empty()) return;
  int fd = ::open(run.file("recovery.log").c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return;
  std::time_t t = std::time(nullptr);
  char ts[32];
  std::strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  for (const auto& l : lines) {
    std::string line = std::string(ts) + " " + l + "\n";
    ssize_t ignored = ::write(fd, line.data(), line.size());
    (void)ignored;
  }
  ::close(fd);
}

int run_guardian(const fs::path& journal, int fd, const Seams& deps) {
  for (;;) {
    char buf[64];
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n == 0) break;                       // EOF: gpucr is gone (or done)
    if (n < 0 && errno != EINTR) break;
  }
  ::close(fd);
  if (!fs::exists(journal)) return 0;        // the operation finished normally
  auto rep = recover(journal, deps);
  std::vector<std::string> lines = {"guardian: gpucr ended without finishing " + journal.string()};
  lines.insert(lines.end(), rep.lines.begin(), rep.lines.end());
  if (!rep.status) {
    lines.push_back("error: " + rep.status.error().what);
    for (const auto& d : rep.status.error().details) lines.push_back("  " + d);
  }
  log_recovery(deps.run, lines);
  return rep.status ? 0 : static_cast<int>(rep.status.error().exit);
}

}  // namespace gpucr::recovery
