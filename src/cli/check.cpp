#include "cli/commands.hpp"
#include "cli/output.hpp"
#include "core/check.hpp"
#include "proc/privileges.hpp"

#include <cstdlib>

#include <cstdio>

namespace gpucr::cli {

static int run_check(const CheckCommand& cmd) {
  CheckEnv env;
  env.criu = cmd.criu;
  env.euid = proc::SelfPrivileges().euid();
  if (const char* libs = std::getenv("CRIU_LIBS_DIR"); libs && *libs) env.criu_libs_dir = libs;
  CheckReport r = run_checks(env);
  if (cmd.json) {
    print_json(to_json(r));
  } else {
    std::fputs(to_text(r).c_str(), stdout);
  }
  return r.overall() == Verdict::fail ? static_cast<int>(Exit::failed) : 0;
}

std::shared_ptr<CheckCommand> add_check(CLI::App& app, Action& action) {
  auto cmd = std::make_shared<CheckCommand>();
  auto* sub = app.add_subcommand(
      "check", "Check this host: criu, kernel, cgroups, privileges, NVIDIA and AMD support. Exit 1 on any failure");
  sub->add_option("--criu", cmd->criu, "criu binary (default: $GPUCR_CRIU, then criu in PATH)");
  sub->add_flag("--json", cmd->json, "Print one JSON document on stdout");
  sub->callback([cmd, &action] { action = [cmd] { return run_check(*cmd); }; });
  return cmd;
}

}  // namespace gpucr::cli
