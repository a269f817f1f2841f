// `gpucr hook prestart` and `gpucr hook poststop`: OCI hooks (hooks.d files from `gpucr
// install`). The runtime writes the container's state JSON on stdin; core/container_hooks.hpp
// says what each stage does. Nothing is printed on success; a failure prints one error and
// exits non-zero (for prestart that fails the container's create or restore).
#include "cli/commands.hpp"
#include "cli/output.hpp"
#include "cli/compose.hpp"
#include "core/container_hooks.hpp"
#include "runtime/paths.hpp"
#include "util/file.hpp"
#include "util/log.hpp"
#include "util/strings.hpp"

#include <unistd.h>

namespace gpucr::cli {

namespace {

// The command line and cwd of the process that runs the hook (the runtime).
void read_parent(HookContext& ctx) {
  std::string dir = "/proc/" + std::to_string(::getppid());
  if (auto cmdline = read_file(dir + "/cmdline")) {
    for (auto& a : split(*cmdline, '\0')) ctx.parent_argv.push_back(a);
    if (!ctx.parent_argv.empty() && ctx.parent_argv.back().empty()) ctx.parent_argv.pop_back();
  }
  std::error_code ec;
  ctx.parent_cwd = fs::read_symlink(dir + "/cwd", ec);
}

int run_hook(const std::string& stage) {
  auto text = hooks::read_bounded(STDIN_FILENO, hooks::kMaxStateBytes, std::chrono::seconds(10));
  if (!text) return print_error(std::move(text).error().context("gpucr hook " + stage));
  auto state = hooks::parse_oci_state(*text);
  if (!state) return print_error(std::move(state).error().context("gpucr hook " + stage));
  auto rh = RealHost::create({.need_criu = false, .quiet = true});
  if (!rh) return print_error(std::move(rh).error().context("gpucr hook " + stage));
  Host& host = (*rh)->host();
  HookContext ctx{.state = *state, .run = host.run};
  read_parent(ctx);
  Result<std::string> done = std::string();
  if (stage == "prestart") {
    done = hook_prestart(ctx, host.gpu_devices, host.gpus);  // NVML in a helper child, else /proc/driver/nvidia
  } else {
    done = hook_poststop(ctx, host.recovery());
  }
  if (!done) return print_error(std::move(done).error().context("gpucr hook " + stage));
  log::info("hook " + stage + ": " + *done);
  return 0;
}

}  // namespace

void add_hook(CLI::App& app, Action& action) {
  auto* hook = app.add_subcommand("hook", "OCI hooks run by container runtimes (installed by `gpucr install`)");
  hook->require_subcommand(1);
  for (const char* stage : {"prestart", "poststop"}) {
    auto* sub = hook->add_subcommand(stage, std::string("The ") + stage + " hook: reads the OCI state JSON on stdin");
    std::string s = stage;
    sub->callback([s, &action] { action = [s] { return run_hook(s); }; });
  }
}

}  // namespace gpucr::cli
