// `gpucr install` and `gpucr uninstall` (core/install.hpp says which files).
#include "common/self_exec.hpp"
#include "cli/commands.hpp"
#include "cli/output.hpp"
#include "core/install.hpp"
#include "hooks/hooks_file.hpp"
#include "cli/compose.hpp"

#include <cstdio>

namespace gpucr::cli {

namespace {

struct InstallCommand {
  InstallOptions core;
  bool no_hooks = false;
  bool no_links = false;
  bool print_only = false;
};

int run_install(InstallCommand& cmd, bool remove) {
  std::error_code ec;
  cmd.core.gpucr_binary = fs::canonical(self::kExe, ec);
  if (ec) return print_error(sys_error("cannot find gpucr's own executable", ec.value()));
  if (cmd.core.bin_dir.empty()) cmd.core.bin_dir = cmd.core.gpucr_binary.parent_path();
  auto run = real_run_dir();
  if (!run) return print_error(run.error());
  cmd.core.run_dir = run->root();
  cmd.core.hooks = !cmd.no_hooks;
  cmd.core.links = !cmd.no_links;
  if (!cmd.print_only) {
    auto lines = remove ? uninstall(cmd.core) : install(cmd.core);
    if (!lines) return print_error(lines.error());
    for (const auto& l : *lines) std::printf("%s\n", l.c_str());
  }
  if (!remove) std::fputs(engine_instructions(cmd.core.bin_dir, cmd.core).c_str(), stdout);
  return 0;
}

void add_one(CLI::App& app, Action& action, bool remove) {
  auto cmd = std::make_shared<InstallCommand>();
  auto* sub = app.add_subcommand(
      remove ? "uninstall" : "install",
      remove ? "Remove the files `gpucr install` wrote (give the same options)"
             : "Install the OCI hooks and the gpucr-runc/gpucr-crun runtime wrappers; print engine configuration");
  cmd->core.hooks_dir = hooks::kDefaultHooksDir;
  sub->add_option("--hooks-dir", cmd->core.hooks_dir,
                  std::string("hooks.d directory (default ") + hooks::kDefaultHooksDir + "; override dir " +
                      hooks::kOverrideHooksDir + ")");
  sub->add_option("--bin-dir", cmd->core.bin_dir, "Directory of the gpucr-runc/gpucr-crun links (default: gpucr's own)");
  sub->add_option("--podman-conf", cmd->core.podman_conf,
                  "Also write the podman drop-in here (e.g. /etc/containers/containers.conf.d/50-gpucr.conf)");
  sub->add_option("--crio-conf", cmd->core.crio_conf,
                  "Also write the CRI-O drop-in here (e.g. /etc/crio/crio.conf.d/50-gpucr.conf)");
  sub->add_flag("--no-hooks", cmd->no_hooks, "Leave the hooks.d files alone");
  sub->add_flag("--no-links", cmd->no_links, "Leave the runtime wrapper links alone");
  if (!remove) sub->add_flag("--print-only", cmd->print_only, "Write nothing; print the engine configuration");
  sub->callback([cmd, &action, remove] { action = [cmd, remove] { return run_install(*cmd, remove); }; });
}

}  // namespace

void add_install(CLI::App& app, Action& action) {
  add_one(app, action, /*remove=*/false);
  add_one(app, action, /*remove=*/true);
}

}  // namespace gpucr::cli
