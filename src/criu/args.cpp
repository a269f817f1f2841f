#include "criu/args.hpp"

namespace gpucr::criu {

static void common(std::vector<std::string>& a, const CommonFlags& f) {
  if (f.tcp_established) a.push_back("--tcp-established");
  if (f.shell_job) a.push_back("--shell-job");
  if (f.ext_unix_sk) a.push_back("--ext-unix-sk");
  if (f.file_locks) a.push_back("--file-locks");
  if (!f.manage_cgroups_mode.empty()) a.push_back("--manage-cgroups=" + f.manage_cgroups_mode);
  if (f.libdir) a.insert(a.end(), {"--libdir", f.libdir->string()});
  if (f.action_script) a.insert(a.end(), {"--action-script", f.action_script->string()});
}

std::vector<std::string> dump_args(const DumpFlags& f) {
  std::vector<std::string> a = {"dump",        "--tree",     std::to_string(f.pid),
                                "--images-dir", f.image_dir.string(), "--work-dir",
                                f.work_dir.string(), "--log-file", kDumpLog, "-v" + std::to_string(f.log_level.value_or(2))};
  if (f.leave_running) a.push_back("--leave-running");
  if (f.timeout_s) a.insert(a.end(), {"--timeout", std::to_string(*f.timeout_s)});
  if (f.freeze_cgroup && !f.interrupt_only) a.insert(a.end(), {"--freeze-cgroup", f.freeze_cgroup->string()});
  common(a, f);
  return a;
}

std::vector<std::string> restore_args(const RestoreFlags& f) {
  std::vector<std::string> a = {"restore", "--images-dir", f.image_dir.string(), "--work-dir",
                                f.work_dir.string(), "--log-file", kRestoreLog, "-v" + std::to_string(f.log_level.value_or(2))};
  if (f.detach) a.push_back("--restore-detached");
  if (f.sibling) a.push_back("--restore-sibling");
  if (f.pidfile) a.insert(a.end(), {"--pidfile", f.pidfile->string()});
  common(a, f);
  return a;
}

}  // namespace gpucr::criu
