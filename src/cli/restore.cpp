// `gpucr restore [CONTAINER]`: fills a RestoreRequest and runs the restore driver
// (core/restore.hpp); in the foreground it then waits for the restored tree or container.
#include "cli/amd_options.hpp"
#include "cli/commands.hpp"
#include "cli/compose.hpp"
#include "cli/output.hpp"
#include "cli/paths.hpp"

#include <cstdio>

namespace gpucr::cli {

static int run_restore(RestoreCommand& cmd) {
  auto& req = cmd.core;
  if (auto st = apply_cuda_flags(cmd.cuda, req.cuda); !st) return print_error(st.error());
  if (auto st = absolute_paths(req.image_dir, req.work_dir); !st) return print_error(st.error());
  if (auto st = absolute_path(req.pid_file, "--pid-file"); !st) return print_error(st.error());
  req.pid_wait = seconds(cmd.pid_wait_s);
  if (!cmd.container.container.empty()) {
    auto ref = container_ref(cmd.container);
    if (!ref) return print_error(ref.error());
    req.container = *ref;
  }
  req.lock_wait = seconds(cmd.container.lock_wait_s);
  auto rh = RealHost::create({.criu = cmd.criu});
  if (!rh) return print_error(rh.error());
  Host& host = (*rh)->host();
  RestoreReport r = restore(req, host);
  if (auto code = print_restore_report(req, r, cmd.json)) return *code;
  std::fflush(stdout);
  if (req.container) {
    if (!r.running) return 0;
    // Foreground: the runtime is the container's parent; gpucr exits with its status.
    return runtime::wait_forwarding_signals(*r.running).shell_code();
  }
  if (req.detach) return 0;
  return wait_for_tree(host, r.root_pid).shell_code();
}

std::shared_ptr<RestoreCommand> add_restore(CLI::App& app, Action& action) {
  auto cmd = std::make_shared<RestoreCommand>();
  auto* sub = app.add_subcommand(
      "restore",
      "Restore a checkpointed process tree. In the foreground gpucr waits for the tree and exits with its status");
  auto& o = cmd->core;
  sub->add_option("--image-dir,--image-path,-D", o.image_dir, "Directory holding the checkpoint")->required();
  sub->add_option("--work-dir,--work-path,-W", o.work_dir, "Directory for criu's log (default: image dir)");
  sub->add_flag("--detach,-d", o.detach, "Return once the tree runs instead of waiting for it");
  sub->add_option("--pid-file,--pidfile", o.pid_file, "Write the restored root's pid to this file");
  sub->add_flag("--tcp-established", o.criu.tcp_established, "Restore established TCP connections");
  sub->add_flag("--shell-job", o.criu.shell_job, "Restore a tree attached to this terminal/session");
  sub->add_flag("--ext-unix-sk", o.criu.ext_unix_sk, "Allow external unix sockets");
  sub->add_flag("--file-locks", o.criu.file_locks, "Restore file locks");
  sub->add_option("--pid-wait", cmd->pid_wait_s,
                  "Seconds to wait for the checkpointed pids to become free (default 10)")
      ->check(seconds_between(0.0, 3600.0));
  sub->add_option("--device-map", o.device_map,
                  "Move CUDA processes to other GPUs: OLD=NEW[,...], UUIDs or indices (completed to a full map)");
  add_cuda_flags(sub, cmd->cuda, o.cuda, /*lock=*/false);
  sub->add_flag("--restore-frozen", o.restore_frozen,
                "Freeze the restored tree's cgroup again when it was frozen at checkpoint (after the GPU restore)");
  add_criu_common_options(*sub, o.criu);
  add_thp_window_option(*sub, o.thp_window);
  add_deadline_option(sub, o.criu_deadline);
  sub->add_option("--criu", cmd->criu, "criu binary (default: $GPUCR_CRIU, then criu in PATH)");
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
