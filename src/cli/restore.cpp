// `gpucr restore [CONTAINER]`: fills a RestoreRequest and runs the restore driver
// (core/restore.hpp); in the foreground it then waits for the restored tree or container.
#include "cli/amd_options.hpp"
#include "cli/archive_options.hpp"
#include "cli/commands.hpp"
#include "cli/compose.hpp"
#include "cli/output.hpp"
#include "cli/paths.hpp"

#include "core/gpu_allocation.hpp"

#include <cstdio>

namespace gpucr::cli {

static int run_restore(RestoreCommand& cmd) {
  auto& req = cmd.core;
  if (auto st = apply_cuda_flags(cmd.cuda, req.cuda); !st) return print_error(st.error());
  if (!cmd.import_file.empty()) {
    auto a = archive_in(cmd.import_file);
    if (!a) return print_error(a.error());
    req.archive = *a;
  }
  if (auto st = absolute_paths(req.image_dir, req.work_dir, req.archive.has_value()); !st) {
    return print_error(st.error());
  }
  if (auto st = absolute_path(req.pid_file, "--pid-file"); !st) return print_error(st.error());
  req.pid_wait = seconds(cmd.pid_wait_s);
  if (!cmd.container.container.empty()) {
    auto ref = container_ref(cmd.container);
    if (!ref) return print_error(ref.error());
    req.container = *ref;
    // The GPUs the new container was given are where its CUDA processes go (core/gpu_allocation.hpp).
    auto alloc = read_allocation(*req.container->bundle);
    if (!alloc) return print_error(alloc.error());
    req.cuda.allocation = *alloc;
  }
  req.lock_wait = seconds(cmd.container.lock_wait_s);
  auto rh = RealHost::create({.criu = cmd.criu});
  if (!rh) return print_error(rh.error());
  Host& host = (*rh)->host();
  std::optional<ArchiveSummary> archive;
  RestoreReport r;
  if (req.archive) {
    auto ir = import_and_restore(req, host);
    r = std::move(ir.restore);
    archive = ir.archive;
  } else {
    r = restore(req, host);
  }
  if (auto code = print_restore_report(req, r, cmd.json, archive ? &*archive : nullptr)) return *code;
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
  sub->add_option("--image-dir,--image-path,-D", o.image_dir,
                  "Directory holding the checkpoint; with --import, where the archive is extracted (new or empty, "
                  "kept afterwards)");
  sub->add_option("--import", cmd->import_file,
                  "Restore from a checkpoint archive FILE (\"-\": stdin) of `gpucr checkpoint --export`. Without "
                  "--image-dir it is extracted into a private directory in $TMPDIR (default /var/tmp), removed "
                  "after a successful restore");
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
                  "Move CUDA processes to other GPUs: OLD=NEW[,...], UUIDs or indices (completed to a full map), or "
                  "auto: GPUs of the same chip with enough memory, chosen by gpucr");
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
    if (cmd->core.image_dir.empty() && cmd->import_file.empty()) {
      throw CLI::ValidationError("restore", "give --image-dir DIR, --import FILE, or both");
    }
    action = [cmd] { return run_restore(*cmd); };
  });
  return cmd;
}

}  // namespace gpucr::cli
