#include "criu/runner.hpp"

#include "util/file.hpp"
#include "util/strings.hpp"

#include <csignal>

namespace gpucr::criu {

std::vector<std::string> error_lines(std::string_view log, size_t max) {
  std::vector<std::string> out;
  for (const auto& raw : split(log, '\n')) {
    std::string_view line = trim(raw);
    // At -v4 every line starts with "(seconds.micros) ".
    if (!line.empty() && line.front() == '(') {
      size_t close = line.find(") ");
      if (close != std::string_view::npos) line = trim(line.substr(close + 1));
    }
    // Lines logged by a restored task carry its pid: "1234: Error (...)".
    size_t digits = line.find_first_not_of("0123456789");
    if (digits > 0 && digits != std::string_view::npos && line.substr(digits, 2) == ": ") {
      line = trim(line.substr(digits + 2));
    }
    // criu logs this one on every run on hosts without CAP_SYS_RESOURCE; it changes nothing.
    if (line.find("rlimit: Can't setup RLIMIT_NOFILE for self") != std::string_view::npos) continue;
    if (line.rfind("Error (", 0) == 0 || line.rfind("Error:", 0) == 0) {
      out.emplace_back(line);
      if (out.size() >= max) break;
    }
  }
  return out;
}

std::optional<std::string> explain(const std::vector<std::string>& error_lines) {
  // compel, criu 4.2.1: "Unseizable non-zombie PID found, state D, err -1/4".
  static constexpr std::string_view kUnseizable = "Unseizable non-zombie ";
  for (const auto& line : error_lines) {
    size_t at = line.find(kUnseizable);
    if (at == std::string::npos) continue;
    std::string_view rest = std::string_view(line).substr(at + kUnseizable.size());
    std::string_view pid = rest.substr(0, rest.find(' '));
    if (pid.empty() || pid.find_first_not_of("0123456789") != std::string_view::npos) continue;
    if (rest.find(" found, state D") != pid.size()) continue;
    std::string p(pid);
    return "pid " + p + " stayed in uninterruptible sleep (state D) while criu stopped the tasks, and criu can't "
           "seize such a task; the usual cause is a process waiting for a vfork child (a shell starting a "
           "command, posix_spawn) that the cgroup freeze caught before its exec, which passes: checkpoint again; "
           "if it persists, /proc/" + p + "/stack shows where pid " + p + " waits";
  }
  return std::nullopt;
}

void explain(Error& e) {
  if (auto why = explain(e.details)) e.hint = e.hint.empty() ? *why : *why + "; " + e.hint;
}

Result<Outcome> ExecRunner::run(const Invocation& inv, const std::function<void(pid_t)>& started) {
  Command cmd;
  cmd.argv.push_back(bin_.path.string());
  cmd.argv.insert(cmd.argv.end(), inv.args.begin(), inv.args.end());
  cmd.env = inv.env;
  cmd.hold = true;
  cmd.new_pgroup = true;
  // criu's own stdout/stderr (rarely used: it logs to the log file) go beside the log.
  cmd.stdout_file = inv.log.string() + ".out";
  cmd.stderr_file = "=stdout";
  auto t0 = Clock::now();
  Child child = GPUCR_TRY(spawn(cmd));
  if (started) started(child.pid());
  child.release();
  Outcome out;
  for (;;) {
    int wake = inv.actions ? inv.actions->fd() : -1;
    if (auto st = child.wait_until(Clock::now() + std::chrono::milliseconds(200), wake)) {
      out.status = *st;
      break;
    }
    if (inv.actions && inv.on_action) inv.actions->serve(inv.on_action);
    if (inv.tick) inv.tick();
    if (inv.stop) {
      if (auto why = inv.stop()) {
        child.kill_group(SIGKILL);
        out.status = child.wait();
        out.stopped = why;
        break;
      }
    }
  }
  out.elapsed = Clock::now() - t0;
  if (auto text = read_file(inv.log)) out.error_lines = error_lines(*text);
  if (out.error_lines.empty()) {
    if (auto text = read_file(inv.log.string() + ".out"); text && !trim(*text).empty()) {
      for (const auto& l : split(trim(*text), '\n')) {
        if (out.error_lines.size() < 20) out.error_lines.push_back(l);
      }
    }
  }
  return out;
}

}  // namespace gpucr::criu
