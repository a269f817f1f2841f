// `gpucr checkpoint CONTAINER` and `gpucr restore CONTAINER`: options and runs.
#include "cli/commands.hpp"
#include "cli/output.hpp"
#include "cli/real_host.hpp"
#include "core/container_checkpoint.hpp"
#include "core/container_restore.hpp"
#include "core/inspect.hpp"
#include "runtime/cli_runtime.hpp"
#include "runtime/paths.hpp"
#include "util/strings.hpp"

#include <cstdio>

namespace gpucr::cli {

namespace {

// The real seams of a container operation, owned together.
struct ContainerSeams {
  std::unique_ptr<RealHost> real;
  std::unique_ptr<runtime::CliRuntime> runtime;
  hooks::SysGpuPresence gpus;
  std::unique_ptr<ContainerHost> host;
};

Result<std::unique_ptr<ContainerSeams>> make_seams(const ContainerCli& c, const std::optional<fs::path>& criu) {
  auto s = std::make_unique<ContainerSeams>();
  fs::path rt = GPUCR_TRY(runtime::resolve_runtime(c.runtime));
  std::vector<std::string> globals;
  if (c.root) globals = {"--root", c.root->string()};
  s->runtime = std::make_unique<runtime::CliRuntime>(rt, globals);
  s->real = GPUCR_TRY(RealHost::create(criu));
  s->host.reset(new ContainerHost{s->real->host(), *s->runtime, s->gpus, runtime::run_dir()});
  return s;
}

std::chrono::milliseconds seconds(double s) { return std::chrono::milliseconds(static_cast<long long>(s * 1000)); }

nlohmann::json processes_json(const std::vector<RestoredProcess>& ps) {
  nlohmann::json a = nlohmann::json::array();
  for (const auto& p : ps) {
    a.push_back({{"comm", p.comm}, {"nspid", p.nspid}, {"old_pid", p.old_pid}, {"new_pid", p.new_pid}});
  }
  return a;
}

}  // namespace

void add_container_options(CLI::App* sub, ContainerCli& c, bool restore) {
  sub->add_option("container", c.container, "Container id: checkpoint/restore it through its OCI runtime");
  sub->add_option("--runtime", c.runtime, "OCI runtime of the container: runc (default), crun, or a path");
  sub->add_option("--root", c.root, "The runtime's state directory (its --root)");
  sub->add_option("--lock-wait", c.lock_wait_s,
                  "Seconds to wait while another gpucr operation holds the container (default 60)")
      ->check(CLI::Range(0.0, 86400.0));
  if (restore) {
    sub->add_option("--bundle,-b", c.bundle, "The container's OCI bundle (restore of a container)");
    sub->add_option("--console-socket", c.console_socket, "Passed to the runtime's restore");
  }
}

int run_container_checkpoint(const CheckpointCommand& cmd) {
  auto seams = make_seams(cmd.container, cmd.criu);
  if (!seams) return print_error(seams.error());
  ContainerCheckpointOptions o;
  const auto& c = cmd.core;
  o.args = {.id = cmd.container.container, .image_path = c.image_dir, .work_path = c.work_dir,
            .leave_running = c.leave_running, .tcp_established = c.criu_flags.tcp_established,
            .ext_unix_sk = c.criu_flags.ext_unix_sk, .shell_job = c.criu_flags.shell_job,
            .file_locks = c.criu_flags.file_locks, .manage_cgroups_mode = c.criu_flags.manage_cgroups_mode};
  o.cwd = fs::current_path();
  o.lock_wait = seconds(cmd.container.lock_wait_s);
  o.cuda = c.cuda;
  recover_abandoned((*seams)->real->host());
  auto r = checkpoint_container(o, *(*seams)->host);
  if (cmd.json) {
    nlohmann::json doc{{"ok", r.status.ok()}, {"container", o.args.id}, {"image_dir", r.image_dir.string()},
                       {"image_bytes", r.image_bytes}, {"processes", r.manifest.processes_size()},
                       {"phases", phases_json(r.phases)}, {"cuda", r.cuda_report}};
    doc["error"] = r.status.ok() ? nlohmann::json(nullptr) : error_json(r.status.error());
    doc["freezer"] = r.manifest.has_freezer() ? message_to_json(r.manifest.freezer()) : nlohmann::json(nullptr);
    print_json(doc);
    return r.status.ok() ? 0 : static_cast<int>(r.status.error().exit);
  }
  print_cuda_report(r.cuda_report, r.status.ok());
  if (!r.status) return print_error(r.status.error());
  std::printf("checkpointed container %s (%d processes) into %s: %s%s\n", o.args.id.c_str(),
              r.manifest.processes_size(), r.image_dir.c_str(), format_bytes(r.image_bytes).c_str(),
              c.leave_running ? ", left running" : "");
  std::fputs(phase_table(r.phases).c_str(), stdout);
  return 0;
}

int run_container_restore(RestoreCommand& cmd) {
  auto seams = make_seams(cmd.container, cmd.criu);
  if (!seams) return print_error(seams.error());
  ContainerRestoreOptions o;
  const auto& c = cmd.core;
  o.args = {.id = cmd.container.container, .image_path = c.image_dir, .work_path = c.work_dir,
            .bundle = cmd.container.bundle, .detach = cmd.detach, .pid_file = c.pid_file,
            .console_socket = cmd.container.console_socket, .tcp_established = c.criu_flags.tcp_established,
            .ext_unix_sk = c.criu_flags.ext_unix_sk, .shell_job = c.criu_flags.shell_job,
            .file_locks = c.criu_flags.file_locks, .manage_cgroups_mode = c.criu_flags.manage_cgroups_mode};
  o.cwd = fs::current_path();
  o.lock_wait = seconds(cmd.container.lock_wait_s);
  o.cuda = c.cuda;
  o.device_map = c.device_map;
  o.restore_frozen = c.restore_frozen;
  recover_abandoned((*seams)->real->host());
  auto r = restore_container(o, *(*seams)->host);
  if (cmd.json) {
    nlohmann::json doc{{"ok", r.status.ok()}, {"container", o.args.id}, {"init_pid", r.init_pid},
                       {"processes", processes_json(r.processes)}, {"phases", phases_json(r.phases)},
                       {"cuda", r.cuda_report}, {"paused", r.paused}};
    doc["error"] = r.status.ok() ? nlohmann::json(nullptr) : error_json(r.status.error());
    print_json(doc);
  } else if (r.status) {
    std::printf("restored container %s: init pid %d%s\n", o.args.id.c_str(), r.init_pid,
                r.paused ? " (paused again, as at checkpoint)" : "");
    for (const auto& p : r.processes) {
      std::printf("  %-16s pid %d in the container: host pid %d -> %d\n", p.comm.c_str(), p.nspid, p.old_pid, p.new_pid);
    }
  }
  if (auto code = finish_report(r.status, r.cuda_report, r.phases, cmd.json)) return *code;
  std::fflush(stdout);
  if (!r.running) return 0;
  // Foreground: the runtime is the container's parent; gpucr exits with its status.
  return runtime::wait_forwarding_signals(*r.running).shell_code();
}

}  // namespace gpucr::cli
