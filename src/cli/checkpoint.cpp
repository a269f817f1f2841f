#include "cli/amd_options.hpp"
#include "cli/commands.hpp"
#include "cli/output.hpp"
#include "cli/real_host.hpp"
#include "core/inspect.hpp"
#include "util/strings.hpp"

#include <cstdio>

namespace gpucr::cli {

static int run_checkpoint(CheckpointCommand& cmd) {
  if (auto st = apply_cuda_flags(cmd.cuda, cmd.core.cuda); !st) return print_error(st.error());
  if (!cmd.container.container.empty()) return run_container_checkpoint(cmd);
  auto rh = RealHost::create(cmd.criu);
  if (!rh) return print_error(rh.error());
  recover_abandoned((*rh)->host());
  CheckpointReport r = checkpoint(cmd.core, (*rh)->host());
  if (cmd.json) {
    nlohmann::json doc{{"ok", r.status.ok()}, {"image_dir", r.image_dir.string()},
                       {"criu_log", r.criu_log.string()}, {"image_bytes", r.image_bytes},
                       {"phases", phases_json(r.phases)}, {"criu_plugins", r.criu_plugins}};
    doc["error"] = r.status.ok() ? nlohmann::json(nullptr) : error_json(r.status.error());
    doc["processes"] = r.manifest.processes_size();
    doc["cuda"] = r.cuda_report;
    doc["freezer"] = r.manifest.has_freezer() ? message_to_json(r.manifest.freezer()) : nlohmann::json(nullptr);
    print_json(doc);
    return r.status.ok() ? 0 : static_cast<int>(r.status.error().exit);
  }
  print_cuda_report(r.cuda_report, r.status.ok());
  if (!r.status) return print_error(r.status.error());
  std::printf("checkpointed pid %d (%d processes) into %s: %s%s\n", cmd.core.pid, r.manifest.processes_size(),
              r.image_dir.c_str(), format_bytes(r.image_bytes).c_str(),
              cmd.core.leave_running ? ", left running" : "");
  std::fputs(phase_table(r.phases).c_str(), stdout);
  return 0;
}

void add_criu_common_options(CLI::App& sub, criu::CommonFlags& flags) {
  sub.add_option("--manage-cgroups-mode", flags.manage_cgroups_mode,
                 "How criu dumps/restores the tree's cgroups (criu --manage-cgroups=MODE; criu's default: soft)")
      ->check(CLI::IsMember({"none", "props", "soft", "full", "strict", "ignore"}));
  sub.add_option("--criu-log-level", flags.log_level,
                 "criu's log verbosity, 0-4 (criu -vN; process trees): 2 logs errors and warnings, 4 adds debug "
                 "lines for a post-mortem and costs time on large images")
      ->check(CLI::Range(0, 4))
      ->capture_default_str();
}

std::shared_ptr<CheckpointCommand> add_checkpoint(CLI::App& app, Action& action) {
  auto cmd = std::make_shared<CheckpointCommand>();
  auto* sub = app.add_subcommand("checkpoint", "Checkpoint a process tree (--pid) or a container (CONTAINER)");
  auto& o = cmd->core;
  sub->add_option("--pid,-t,--tree", o.pid, "Root of the process tree to checkpoint");
  sub->add_option("--image-dir,--image-path,-D", o.image_dir,
                  "Directory for the images: created with mode 0700, must be empty")
      ->required();
  sub->add_option("--work-dir,--work-path,-W", o.work_dir, "Directory for criu's log and stats (default: image dir)");
  sub->add_flag("--leave-running,-R", o.leave_running, "Keep the tree running after the checkpoint");
  sub->add_flag("--tcp-established", o.criu_flags.tcp_established, "Checkpoint established TCP connections");
  sub->add_flag("--shell-job", o.criu_flags.shell_job, "Allow a tree attached to a terminal/session outside it");
  sub->add_flag("--ext-unix-sk", o.criu_flags.ext_unix_sk, "Allow external unix sockets");
  sub->add_flag("--file-locks", o.criu_flags.file_locks, "Checkpoint file locks");
  sub->add_option("--timeout", o.timeout_s, "Seconds criu may spend freezing the tree (criu --timeout)")
      ->check(CLI::Range(1, 86400));
  add_cuda_flags(sub, cmd->cuda, o.cuda, /*lock=*/true);
  sub->add_flag("--force", o.cuda.force, "Checkpoint despite the host-memory, MIG and MPS preflight refusals");
  sub->add_option("--freeze-cgroup", o.freeze_cgroup,
                  "Cgroup directory criu freezes to seize the tree (criu --freeze-cgroup; added by gpucr when "
                  "the tree's cgroup is frozen, dropped when the tree had to be thawed for GPU work)");
  add_criu_common_options(*sub, o.criu_flags);
  sub->add_option("--criu", cmd->criu, "criu binary (default: $GPUCR_CRIU, then criu in PATH)");
  add_plugins_dir_option(sub, o.amd);
  sub->add_flag("--json", cmd->json, "Print one JSON result document on stdout");
  add_container_options(sub, cmd->container, /*restore=*/false);
  sub->callback([cmd, &action] {
    if (cmd->container.container.empty() == (cmd->core.pid == 0)) {
      throw CLI::ValidationError("checkpoint", "give exactly one of --pid PID or CONTAINER");
    }
    action = [cmd] { return run_checkpoint(*cmd); };
  });
  return cmd;
}

}  // namespace gpucr::cli
