#include "cli/amd_options.hpp"
#include "cli/commands.hpp"
#include "cli/output.hpp"
#include "cli/real_host.hpp"

#include <cstdio>

namespace gpucr::cli {

static int run_restore(RestoreCommand& cmd) {
  if (auto st = apply_cuda_flags(cmd.cuda, cmd.core.cuda); !st) return print_error(st.error());
  if (!cmd.container.container.empty()) return run_container_restore(cmd);
  auto rh = RealHost::create(cmd.criu);
  if (!rh) return print_error(rh.error());
  recover_abandoned((*rh)->host());
  cmd.core.pid_wait = std::chrono::milliseconds(static_cast<long long>(cmd.pid_wait_s * 1000));
  RestoreReport r = restore(cmd.core, (*rh)->host());
  if (cmd.json) {
    nlohmann::json doc{{"ok", r.status.ok()}, {"root_pid", r.root_pid}, {"criu_log", r.criu_log.string()},
                       {"phases", phases_json(r.phases)}, {"cuda", r.cuda_report}, {"refrozen", r.refrozen}};
    doc["error"] = r.status.ok() ? nlohmann::json(nullptr) : error_json(r.status.error());
    doc["plugins"] = nullptr;
    if (r.plugins) {
      doc["plugins"] = {{"field", criu::to_string(r.plugins->field)}, {"names", r.plugins->listed},
                        {"gpu_handling", r.plugins->gpu_handling}, {"criu_sees", r.plugins->for_criu},
                        {"view", r.plugins->needs_view}, {"meaning", r.plugins->meaning()}};
    }
    print_json(doc);
  } else if (r.status) {
    std::printf("restored %s: root pid %d%s\n", cmd.core.image_dir.c_str(), r.root_pid,
                r.refrozen ? " (frozen again, as at checkpoint)" : "");
    if (r.plugins) std::printf("plugins field: %s\n", r.plugins->meaning().c_str());
  }
  if (auto code = finish_report(r.status, r.cuda_report, r.phases, cmd.json)) return *code;
  std::fflush(stdout);
  if (cmd.detach) return 0;
  return wait_for_tree(r.root_pid).shell_code();
}

std::shared_ptr<RestoreCommand> add_restore(CLI::App& app, Action& action) {
  auto cmd = std::make_shared<RestoreCommand>();
  auto* sub = app.add_subcommand(
      "restore",
      "Restore a checkpointed process tree. In the foreground gpucr waits for the tree and exits with its status");
  auto& o = cmd->core;
  sub->add_option("--image-dir,--image-path,-D", o.image_dir, "Directory holding the checkpoint")->required();
  sub->add_option("--work-dir,--work-path,-W", o.work_dir, "Directory for criu's log (default: image dir)");
  sub->add_flag("--detach,-d", cmd->detach, "Return once the tree runs instead of waiting for it");
  sub->add_option("--pid-file,--pidfile", o.pid_file, "Write the restored root's pid to this file");
  sub->add_flag("--tcp-established", o.criu_flags.tcp_established, "Restore established TCP connections");
  sub->add_flag("--shell-job", o.criu_flags.shell_job, "Restore a tree attached to this terminal/session");
  sub->add_flag("--ext-unix-sk", o.criu_flags.ext_unix_sk, "Allow external unix sockets");
  sub->add_flag("--file-locks", o.criu_flags.file_locks, "Restore file locks");
  sub->add_option("--pid-wait", cmd->pid_wait_s,
                  "Seconds to wait for the checkpointed pids to become free (default 10)")
      ->check(CLI::Range(0.0, 3600.0));
  sub->add_option("--device-map", o.device_map,
                  "Move CUDA processes to other GPUs: OLD=NEW[,...], UUIDs or indices (completed to a full map)");
  add_cuda_flags(sub, cmd->cuda, o.cuda, /*lock=*/false);
  sub->add_flag("--restore-frozen", o.restore_frozen,
                "Freeze the restored tree's cgroup again when it was frozen at checkpoint (after the GPU restore)");
  add_criu_common_options(*sub, o.criu_flags);
  sub->add_option("--criu", cmd->criu, "criu binary (default: $GPUCR_CRIU, then criu in PATH)");
  add_plugins_dir_option(sub, o.amd);
  add_skip_check_option(sub, o.amd);
  add_max_buffer_option(sub, o.amd);
  sub->add_flag("--json", cmd->json, "Print one JSON result document on stdout");
  add_container_options(sub, cmd->container, /*restore=*/true);
  sub->callback([cmd, &action] {
    if (!cmd->container.container.empty() && !cmd->container.bundle) {
      throw CLI::ValidationError("restore", "restoring a container needs --bundle DIR");
    }
    action = [cmd] { return run_restore(*cmd); };
  });
  return cmd;
}

}  // namespace gpucr::cli
