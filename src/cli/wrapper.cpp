// The OCI runtime wrapper: gpucr invoked as gpucr-runc / gpucr-crun (argv[0]), or as
// `gpucr runtime --runtime PATH -- ARGS...`.
//
// Every command except checkpoint and restore is exec'd into the real runtime at once, before
// gpucr opens a file or touches a signal: same pid, argv (argv[0] becomes the runtime's path),
// environment, stdio, fds and signal dispositions, so nothing can differ. checkpoint and restore
// are parsed (runtime/argv.hpp); the container drivers run their phases and call the real
// runtime as a child with the engine's exact arguments, forwarding SIGINT/SIGTERM/SIGHUP to it,
// and the wrapper exits with the runtime's status (re-raising its signal if it was killed).
// Command lines gpucr can't orchestrate (--help, usage errors, unknown options, --pre-dump) are
// exec'd unchanged: `checkpoint --help` exits 0 as engines' probes require, and podman's probe
// `restore --lsm-mount-context` gets the runtime's own "needs an argument" message.
//
// The real runtime: GPUCR_RUNTIME (a name or path) when set, else NAME in PATH, never gpucr
// itself. GPUCR_LOG_FILE (optional) receives the wrapper's log. GPUCR_DEVICE_MAP (optional) is a
// restore's --device-map. GPUCR_THP_WINDOW (optional: off, on or force) is --thp-window for the
// checkpoints and restores the engine runs. Engines never pass these: a launcher script or the
// daemon's environment sets them.
#include "cli/commands.hpp"
#include "cli/output.hpp"
#include "cli/compose.hpp"
#include "runtime/argv.hpp"
#include "core/container_gpus.hpp"
#include "core/gpu_allocation.hpp"
#include "criu/runner.hpp"
#include "runtime/cli_runtime.hpp"
#include "runtime/container_id.hpp"
#include "runtime/lock.hpp"
#include "runtime/paths.hpp"
#include "util/log.hpp"
#include "util/signals.hpp"
#include "util/strings.hpp"

#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace gpucr::cli {

namespace {

[[noreturn]] void exec_runtime(const fs::path& real, const std::vector<std::string>& args) {
  std::vector<std::string> all{real.string()};
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : all) argv.push_back(a.data());
  argv.push_back(nullptr);
  ::execv(real.c_str(), argv.data());
  int err = errno;
  print_error(sys_error("cannot exec " + real.string(), err).with_exit(Exit::missing_dependency));
  std::_Exit(static_cast<int>(Exit::missing_dependency));
}

// Exit like the runtime did: its code, or its signal raised on ourselves.
int exit_like(const ExitStatus& st) {
  if (!st.signaled) return st.code;
  std::fflush(nullptr);
  ::signal(st.signal, SIG_DFL);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, st.signal);
  ::sigprocmask(SIG_UNBLOCK, &set, nullptr);
  ::raise(st.signal);
  return st.shell_code();
}

void setup_logging() {
  log::set_level(log::Level::warn);
  if (const char* f = std::getenv("GPUCR_LOG_FILE"); f && *f) log::set_file(f);
}

// The status of an orchestrated command: the runtime's when it ran and failed (it printed its
// own message; gpucr adds its view), gpucr's error code when gpucr failed, else 0.
int finish(const Status& st, const std::optional<ExitStatus>& runtime_exit) {
  if (st.ok()) return 0;
  // Engines often drop a runtime's stderr: the error goes to GPUCR_LOG_FILE too.
  const Error& e = st.error();
  log::error(e.what + (e.hint.empty() ? std::string() : " (hint: " + e.hint + ")"));
  for (const auto& d : e.details) log::error("  " + d);
  print_error(e);
  if (runtime_exit && !runtime_exit->success()) return exit_like(*runtime_exit);
  return static_cast<int>(st.error().exit);
}

// GPUCR_THP_WINDOW: the --thp-window of every checkpoint and restore through the wrapper.
Result<mm::ThpWindow> thp_window_from_env() {
  const char* v = std::getenv("GPUCR_THP_WINDOW");
  if (!v || !*v) return mm::ThpWindow::off;
  const auto& words = mm::thp_window_words();
  if (auto it = words.find(v); it != words.end()) return it->second;
  return fail(Error("GPUCR_THP_WINDOW is \"" + printable_utf8(v) + "\", not off, on or force", Exit::usage)
                  .with_hint("set it to on (--thp-window), force (--thp-window=force) or off, where the engine's "
                             "runtime is configured (the launcher script or the daemon's environment)"));
}

// The engine's command, from the command word on, exactly as given.
ContainerRef engine_container(const fs::path& real, const runtime::Invocation& inv, const std::string& id) {
  ContainerRef c{.id = id, .runtime = real, .globals = inv.globals};
  c.verbatim = std::vector<std::string>{inv.command};
  c.verbatim->insert(c.verbatim->end(), inv.command_args.begin(), inv.command_args.end());
  return c;
}

// The runtime's directories as it resolves them (relative to its cwd); without a work path
// criu's logs go to the image directory.
void engine_dirs(const std::optional<fs::path>& image, const std::optional<fs::path>& work, fs::path& image_dir,
                 std::optional<fs::path>& work_dir) {
  fs::path cwd = fs::current_path();
  image_dir = runtime::effective_image_path(image, cwd);
  if (work) work_dir = runtime::effective_image_path(work, cwd);
}

// What a checkpoint and a restore through the wrapper take from the engine's command line (criu's
// options) and from gpucr's environment (the THP window).
template <class Args, class Request>
Status engine_options(const Args& a, Request& req) {
  CriuOptions& o = req.criu;
  o.tcp_established = a.tcp_established;
  o.ext_unix_sk = a.ext_unix_sk;
  o.shell_job = a.shell_job;
  o.file_locks = a.file_locks;
  o.manage_cgroups_mode = a.manage_cgroups_mode;
  req.thp_window = GPUCR_TRY(thp_window_from_env());
  return {};
}

int wrap_checkpoint(const fs::path& real, const runtime::Invocation& inv, const runtime::CheckpointArgs& args) {
  CheckpointRequest req;
  req.container = engine_container(real, inv, args.id);
  engine_dirs(args.image_path, args.work_path, req.image_dir, req.work_dir);
  req.leave_running = args.leave_running;
  if (auto st = engine_options(args, req); !st) return finish(st, std::nullopt);
  auto rh = RealHost::create({.criu = inv.criu, .quiet = true});
  if (!rh) return finish(fail(rh.error()), std::nullopt);
  auto r = checkpoint(req, (*rh)->host());
  return finish(r.status, r.runtime_exit);
}

int wrap_restore(const fs::path& real, const runtime::Invocation& inv, const runtime::RestoreArgs& args) {
  RestoreRequest req;
  req.container = engine_container(real, inv, args.id);
  req.container->bundle = args.bundle;
  req.container->console_socket = args.console_socket;
  engine_dirs(args.image_path, args.work_path, req.image_dir, req.work_dir);
  req.detach = args.detach;
  req.pid_file = args.pid_file;
  if (auto st = engine_options(args, req); !st) return finish(st, std::nullopt);
  if (const char* map = std::getenv("GPUCR_DEVICE_MAP"); map && *map) req.device_map = map;
  // The GPUs the engine (or Kubernetes' device plugin) gave the new container: its CUDA
  // processes go there, with no flag (core/gpu_allocation.hpp). runc's bundle defaults to its cwd.
  fs::path bundle = args.bundle ? fs::absolute(*args.bundle) : fs::current_path();
  auto alloc = read_allocation(bundle);
  if (!alloc) return finish(fail(alloc.error()), std::nullopt);
  req.cuda.allocation = *alloc;
  auto rh = RealHost::create({.criu = inv.criu, .quiet = true});
  if (!rh) return finish(fail(rh.error()), std::nullopt);
  auto r = restore(req, (*rh)->host());
  if (!r.status.ok()) return finish(r.status, r.runtime_exit);
  if (!r.running) return 0;
  return exit_like(runtime::wait_forwarding_signals(*r.running));
}

// Before `delete ID` is exec'd: drop gpucr's records and the lock file of ID unless a gpucr
// operation holds it (engines without hooks, like containerd, never run poststop).
void forget_container(const std::vector<std::string>& delete_args) {
  if (delete_args.empty() || !runtime::valid_container_id(delete_args.back())) return;
  const std::string& id = delete_args.back();
  auto run_dir = real_run_dir();
  if (!run_dir || !run_dir->check_existing(run_dir->root())) return;
  const RunDir& run = *run_dir;
  std::error_code ec;
  if (!fs::exists(runtime::container_lock_file(run, id), ec) && !fs::exists(runtime::container_dir(run, id), ec)) return;
  auto lock = runtime::try_lock_container(run, id, "delete");
  if (!lock || !*lock) return;
  (void)remove_container_records(run, id);
  (*lock)->remove_file();
}

int run_wrapper(const fs::path& real, const std::vector<std::string>& args) {
  auto inv = runtime::split_invocation(args);
  if (!inv) exec_runtime(real, args);
  if (inv->command == "delete") forget_container(inv->command_args);
  if (inv->command != "checkpoint" && inv->command != "restore") exec_runtime(real, args);
  std::variant<runtime::CheckpointArgs, runtime::RestoreArgs, runtime::Passthrough> req;
  if (inv->command == "checkpoint") {
    std::visit([&](auto&& v) { req = v; }, runtime::parse_checkpoint(inv->command_args));
  } else {
    std::visit([&](auto&& v) { req = v; }, runtime::parse_restore(inv->command_args));
  }
  if (auto* p = std::get_if<runtime::Passthrough>(&req)) {
    if (p->warn) std::fprintf(stderr, "gpucr: warning: %s; running %s without gpucr's orchestration\n", p->reason.c_str(), real.c_str());
    exec_runtime(real, args);
  }
  setup_logging();
  signals::install_cancel_handlers();
  if (auto* c = std::get_if<runtime::CheckpointArgs>(&req)) return wrap_checkpoint(real, *inv, *c);
  return wrap_restore(real, *inv, std::get<runtime::RestoreArgs>(req));
}

const char* kRuntimeUsage =
    "Usage: gpucr runtime --runtime PATH -- RUNTIME-ARGS...\n"
    "Runs the OCI runtime PATH (runc or crun) with RUNTIME-ARGS exactly as given, adding gpucr's\n"
    "orchestration to `checkpoint` and `restore`. The same as invoking gpucr through a symlink named\n"
    "gpucr-runc or gpucr-crun (see `gpucr install`), which runs runc or crun from PATH (or\n"
    "$GPUCR_RUNTIME).\n";

}  // namespace

std::optional<std::string> wrapper_runtime_name(const char* argv0) {
  if (!argv0) return std::nullopt;
  std::string base = fs::path(argv0).filename().string();
  const std::string prefix = self::kWrapperPrefix;
  if (base.size() <= prefix.size() || base.rfind(prefix, 0) != 0) return std::nullopt;
  return base.substr(prefix.size());
}

int run_wrapper_named(const std::string& name, int argc, char** argv) {
  auto real = runtime::resolve_wrapped_runtime(name);
  if (!real) return print_error(real.error());
  return run_wrapper(*real, std::vector<std::string>(argv + 1, argv + argc));
}

int run_runtime_command(int argc, char** argv) {
  std::optional<std::string> rt;
  int i = 2;
  for (; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--") {
      ++i;
      break;
    }
    if (a == "-h" || a == "--help") {
      std::fputs(kRuntimeUsage, stdout);
      return 0;
    }
    if (a == "--runtime" && i + 1 < argc) {
      rt = argv[++i];
    } else if (a.rfind("--runtime=", 0) == 0) {
      rt = a.substr(10);
    } else {
      std::fprintf(stderr, "gpucr runtime: unexpected %s before --\n%s", a.c_str(), kRuntimeUsage);
      return static_cast<int>(Exit::usage);
    }
  }
  if (!rt) {
    std::fprintf(stderr, "gpucr runtime: --runtime PATH is required\n%s", kRuntimeUsage);
    return static_cast<int>(Exit::usage);
  }
  auto real = runtime::resolve_runtime(*rt);
  if (!real) return print_error(real.error());
  return run_wrapper(*real, std::vector<std::string>(argv + i, argv + argc));
}

void add_runtime_help(CLI::App& app) {
  app.add_subcommand("runtime", "OCI runtime wrapper: gpucr runtime --runtime PATH -- ARGS (see --help)");
}

}  // namespace gpucr::cli
