// `gpucr checkpoint --pid PID | CONTAINER`: fills a CheckpointRequest and runs the checkpoint
// driver (core/checkpoint.hpp).
#include "cli/amd_options.hpp"
#include "cli/archive_options.hpp"
#include "cli/commands.hpp"
#include "cli/compose.hpp"
#include "cli/output.hpp"
#include "cli/paths.hpp"

#include <cstdio>
#include <map>

namespace gpucr::cli {

static int run_checkpoint(CheckpointCommand& cmd) {
  auto& req = cmd.core;
  if (auto st = apply_cuda_flags(cmd.cuda, req.cuda); !st) return print_error(st.error());
  if (!cmd.export_file.empty()) {  // first: with "-", everything printed from here on goes to stderr
    auto a = archive_out(cmd.export_file, cmd.compress);
    if (!a) return print_error(a.error());
    req.archive = *a;
  }
  if (auto st = absolute_paths(req.image_dir, req.work_dir, req.archive.has_value()); !st) {
    return print_error(st.error());
  }
  if (!cmd.container.container.empty()) {
    auto ref = container_ref(cmd.container);
    if (!ref) return print_error(ref.error());
    req.container = *ref;
  }
  req.lock_wait = seconds(cmd.container.lock_wait_s);
  auto rh = RealHost::create({.criu = cmd.criu});
  if (!rh) return print_error(rh.error());
  if (!req.archive) return print_checkpoint_report(req, checkpoint(req, (*rh)->host()), cmd.json);
  auto r = export_checkpoint(req, (*rh)->host());
  return print_checkpoint_report(req, r.checkpoint, cmd.json, r.archive ? &*r.archive : nullptr);
}

void add_criu_common_options(CLI::App& sub, CriuOptions& criu) {
  sub.add_option("--manage-cgroups-mode", criu.manage_cgroups_mode,
                 "How criu dumps/restores the tree's cgroups (criu --manage-cgroups=MODE; criu's default: soft)")
      ->check(CLI::IsMember({"none", "props", "soft", "full", "strict", "ignore"}));
  sub.add_option("--criu-log-level", criu.log_level,
                 "criu's log verbosity, 0-4 (criu -vN; process trees only): 2 (the default) logs errors and "
                 "warnings, 4 adds debug lines for a post-mortem and costs time on large images")
      ->check(CLI::Range(0, 4));
  add_plugins_dir_option(&sub, criu.plugins_dir);
}

void add_thp_window_option(CLI::App& sub, mm::ThpWindow& window) {
  sub.add_flag("--thp-window{on}", window,
               "Set the host's transparent huge page mode to `always` while gpucr stages GPU state and criu runs, "
               "then put it back (host-wide: other processes get huge pages too meanwhile); =force also when the "
               "mode is `never`")
      ->transform(CLI::CheckedTransformer(mm::thp_window_words()));
}

std::shared_ptr<CheckpointCommand> add_checkpoint(CLI::App& app, Action& action) {
  auto cmd = std::make_shared<CheckpointCommand>();
  auto* sub = app.add_subcommand("checkpoint", "Checkpoint a process tree (--pid) or a container (CONTAINER)");
  auto& o = cmd->core;
  sub->add_option("--pid,-t,--tree", o.pid, "Root of the process tree to checkpoint");
  sub->add_option("--image-dir,--image-path,-D", o.image_dir,
                  "Directory for the images: created with mode 0700, must be empty (optional with --export)");
  sub->add_option("--export", cmd->export_file,
                  "Also write the checkpoint as one archive FILE (\"-\": stdout), with the images as checkpoint/ and, "
                  "for a container, its config.json as spec.dump. Without --image-dir the images go to a private "
                  "directory in $TMPDIR (default /var/tmp), removed once the archive is complete");
  sub->add_option("--compress", cmd->compress, "Compression of the --export archive: zstd (default), gzip or none")
      ->check(CLI::IsMember({"zstd", "gzip", "none"}));
  sub->add_option("--work-dir,--work-path,-W", o.work_dir, "Directory for criu's log and stats (default: image dir)");
  sub->add_flag("--leave-running,-R", o.leave_running, "Keep the tree running after the checkpoint");
  sub->add_flag("--tcp-established", o.criu.tcp_established, "Checkpoint established TCP connections");
  sub->add_flag("--shell-job", o.criu.shell_job, "Allow a tree attached to a terminal/session outside it");
  sub->add_flag("--ext-unix-sk", o.criu.ext_unix_sk, "Allow external unix sockets");
  sub->add_flag("--file-locks", o.criu.file_locks, "Checkpoint file locks");
  sub->add_option("--timeout", o.criu.timeout_s, "Seconds criu may spend freezing the tree (criu --timeout)")
      ->check(CLI::Range(1, 86400));
  add_cuda_flags(sub, cmd->cuda, o.cuda, /*lock=*/true);
  sub->add_flag("--force", o.cuda.force, "Checkpoint despite the host-memory, MIG and MPS preflight refusals");
  sub->add_option("--freeze-cgroup", o.criu.freeze_cgroup,
                  "Cgroup directory criu freezes to seize the tree (criu --freeze-cgroup; process trees only; added "
                  "by gpucr when the tree's cgroup is frozen, dropped when the tree had to be thawed for GPU work)");
  add_criu_common_options(*sub, o.criu);
  add_thp_window_option(*sub, o.thp_window);
  add_deadline_option(sub, o.criu_deadline);
  sub->add_option("--criu", cmd->criu, "criu binary (default: $GPUCR_CRIU, then criu in PATH)");
  sub->add_flag("--json", cmd->json, "Print one JSON result document on stdout");
  add_container_options(sub, cmd->container, /*restore=*/false);
  sub->callback([cmd, &action] {
    if (cmd->container.container.empty() == (cmd->core.pid == 0)) {
      throw CLI::ValidationError("checkpoint", "give exactly one of --pid PID or CONTAINER");
    }
    if (cmd->core.image_dir.empty() && cmd->export_file.empty()) {
      throw CLI::ValidationError("checkpoint", "give --image-dir DIR, --export FILE, or both");
    }
    action = [cmd] { return run_checkpoint(*cmd); };
  });
  return cmd;
}

}  // namespace gpucr::cli
