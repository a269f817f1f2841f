#include "cli/commands.hpp"
#include "cli/output.hpp"
#include "common/self_exec.hpp"
#include "proc/privileges.hpp"
#include "recovery/action_hook.hpp"
#include "util/log.hpp"
#include "util/signals.hpp"
#include "version.hpp"

#include <cstdio>
#include <cstdlib>
#include <exception>

namespace gpucr::cli {

namespace {

struct Globals {
  std::string log_level = "warning";
  std::optional<fs::path> log_file;
};

Status apply_globals(const Globals& g) {
  log::Level level;
  if (!log::parse_level(g.log_level, level)) {
    return fail(Error("invalid --log-level '" + g.log_level + "': use debug, info, warning, error or quiet", Exit::usage));
  }
  log::set_level(level);
  if (g.log_file && !log::set_file(*g.log_file)) {
    return fail(sys_error("cannot open --log-file " + g.log_file->string(), errno).with_exit(Exit::usage));
  }
  return {};
}

const char* kFooter = R"(Exit codes:
  0   success
  1   the operation failed; every process and cgroup was returned to its initial state
  2   usage error
  3   bad input: no such process or container, unusable image, malformed JSON
  4   a dependency is missing: criu, a CUDA backend, a GPU the image needs
  5   not permitted: privileges or host memory are insufficient
  6   rollback incomplete: a process or cgroup could not be returned to its state (act now)
  70  internal error (a bug in gpucr)
  restore in the foreground exits with the restored tree's status (128+N when killed by signal N).)";

}  // namespace

void add_all_commands(CLI::App& app, Action& action) {
  add_checkpoint(app, action);
  add_restore(app, action);
  add_inspect(app, action);
  add_check(app, action);
  add_demo(app, action);
  add_version(app, action);
  add_recover(app, action);
  add_internal(app, action);
  add_hook(app, action);
  add_install(app, action);
  add_runtime_help(app);
}

namespace {

int parse_and_run(int argc, char** argv) {
  // Installed setuid (or setgid), gpucr would run criu, helpers and hooks as root for whoever
  // calls it: refused before any option or environment variable is read.
  if (proc::SelfPrivileges().setid()) {
    std::fputs("gpucr: error: gpucr must not be installed setuid or setgid: refusing to run\n"
               "hint: remove the setuid/setgid bits (chmod u-s,g-s) and run gpucr as root\n",
               stderr);
    return static_cast<int>(Exit::not_permitted);
  }
  const char* script_action = std::getenv(self::kActionEnv);
  if (recovery::is_criu_action_hook(argc, script_action)) {  // criu runs gpucr as its action script
    proc::ProcFs procs;
    return recovery::run_criu_action_hook(procs, script_action, std::getenv(self::kJournalEnv),
                                          proc::SelfPrivileges().euid());
  }
  // The OCI runtime wrapper bypasses the command line parser: its argv is the runtime's.
  if (argc >= 1) {
    if (auto name = wrapper_runtime_name(argv[0])) return run_wrapper_named(*name, argc, argv);
  }
  if (argc >= 2 && std::string_view(argv[1]) == "runtime") return run_runtime_command(argc, argv);
  CLI::App app{"gpucr: checkpoint and restore of processes and containers that use GPUs, around criu", "gpucr"};
  app.footer(kFooter);
  app.require_subcommand(1);
  app.fallthrough();
  app.set_version_flag("--version", std::string("gpucr ") + kVersion);
  Globals globals;
  app.add_option("--log-level", globals.log_level, "debug, info, warning (default), error or quiet");
  app.add_option("--log-file", globals.log_file, "Also write every log message, with timestamps, to this file");
  Action action;
  add_all_commands(app, action);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {  // CLI11 reports usage errors (and --help) this way
    int code = app.exit(e);
    return code == 0 ? 0 : static_cast<int>(Exit::usage);
  }
  if (auto st = apply_globals(globals); !st) return print_error(st.error());
  signals::install_cancel_handlers();
  return action ? action() : static_cast<int>(Exit::usage);
}

}  // namespace

int run(int argc, char** argv) {
  try {
    return parse_and_run(argc, argv);
  } catch (const std::exception& e) {  // the one place gpucr catches: a bug escaped
    return print_error(Error(std::string("internal error: ") + e.what(), Exit::internal)
                           .with_hint("please report this with the command line and --log-file output"));
  }
}

}  // namespace gpucr::cli
