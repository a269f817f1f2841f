#include "core/tree.hpp"

#include <unistd.h>

namespace gpucr {

Result<proc::ProcInfo> validate_root(const proc::ProcessTable& procs, pid_t pid) {
  const std::string who = "pid " + std::to_string(pid);
  if (pid <= 0) return fail(Error("invalid pid " + std::to_string(pid), Exit::bad_input));
  auto info = procs.info(pid);
  if (!info) {
    return fail(Error("cannot checkpoint " + who + ": no such process", Exit::bad_input)
                    .with_hint("check the pid with `ps -p " + std::to_string(pid) + "`"));
  }
  if (info->state == 'Z' || info->state == 'X') {
    return fail(Error("cannot checkpoint " + who + " (" + info->comm + "): it has exited (zombie)", Exit::bad_input));
  }
  if (info->kernel_thread()) {
    return fail(Error("cannot checkpoint " + who + " (" + info->comm + "): it is a kernel thread", Exit::bad_input)
                    .with_hint("give the pid of a user-space process tree"));
  }
  if (pid == 1) {
    return fail(Error("refusing to checkpoint pid 1 (" + info->comm + "): it is this system's init", Exit::bad_input));
  }
  for (pid_t p = ::getpid(); p > 1;) {
    if (p == pid) {
      return fail(Error("cannot checkpoint " + who + " (" + info->comm +
                            "): it is gpucr or an ancestor of gpucr, which criu would freeze",
                        Exit::bad_input)
                      .with_hint("run gpucr from outside the process tree you checkpoint"));
    }
    auto pi = procs.info(p);
    if (!pi) break;
    p = pi->ppid;
  }
  return info;
}

Result<OpLock> lock_tree(const RunDir& run, const proc::ProcessId& root, const std::string& operation,
                         std::chrono::milliseconds wait) {
  GPUCR_TRY(run.ensure("locks"));
  std::filesystem::path file = run.locks() / ("tree-" + std::to_string(root.pid) + "-" + std::to_string(root.start_time) + ".lock");
  return OpLock::acquire(file, "the process tree of pid " + std::to_string(root.pid), operation, wait);
}

Result<std::vector<proc::ProcInfo>> discover_tree(const proc::ProcessTable& procs, pid_t root) {
  return process_tree(procs, root);
}

void record_processes(const std::vector<proc::ProcInfo>& tree,
                      google::protobuf::RepeatedPtrField<pb::Process>* out) {
  for (const auto& p : tree) {
    auto* rec = out->Add();
    rec->set_pid(p.pid);
    rec->set_ppid(p.ppid);
    for (pid_t n : p.nspid) rec->add_nspid(n);
    rec->set_comm(p.comm);
    rec->set_start_time(p.start_time);
    rec->set_pgid(p.pgid);
    rec->set_sid(p.sid);
    rec->set_threads(p.threads);
  }
}

}  // namespace gpucr
