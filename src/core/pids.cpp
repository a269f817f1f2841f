#include "core/pids.hpp"

#include "util/signals.hpp"
#include "util/strings.hpp"

#include <set>
#include <thread>

namespace gpucr {

static std::string describe(const proc::ProcInfo& p) {
  std::string s = "pid " + std::to_string(p.pid) + " (" + p.comm + ")";
  if (p.state == 'Z') s += ", a zombie not yet reaped by its parent pid " + std::to_string(p.ppid);
  return s;
}

std::vector<std::string> pid_holders(const proc::ProcessTable& procs, const std::vector<pid_t>& pids) {
  std::vector<std::string> out;
  std::set<pid_t> wanted(pids.begin(), pids.end());
  for (pid_t p : wanted) {
    if (auto pi = procs.info(p)) out.push_back("pid " + std::to_string(p) + " is in use by " + describe(*pi));
  }
  auto all = procs.all_pids();
  if (!all) return out;
  for (pid_t p : *all) {
    if (wanted.count(p)) continue;
    auto pi = procs.info(p);
    if (!pi) continue;
    if (wanted.count(pi->sid)) {
      out.push_back("pid " + std::to_string(pi->sid) + " is the session id of " + describe(*pi));
    } else if (wanted.count(pi->pgid)) {
      out.push_back("pid " + std::to_string(pi->pgid) + " is the process group id of " + describe(*pi));
    }
  }
  return out;
}

Status wait_for_free_pids(const proc::ProcessTable& procs, const std::vector<pid_t>& pids,
                          std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto holders = pid_holders(procs, pids);
    if (holders.empty()) return {};
    if (std::chrono::steady_clock::now() >= deadline || signals::cancel_requested()) {
      Error e("the pids of the checkpointed tree are still in use after " + format_duration(timeout), Exit::failed);
      e.details = holders;
      e.hint = "stop the processes named above (or wait for their parent to reap them), then restore again; "
               "--pid-wait SECONDS waits longer";
      return fail(std::move(e));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

}  // namespace gpucr
