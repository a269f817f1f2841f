#include "cli/commands.hpp"
#include "cli/output.hpp"
#include "core/handler_probe.hpp"
#include "core/inspect.hpp"
#include "gpu/cuda/select.hpp"

#include <cstdio>

namespace gpucr::cli {

static int run_inspect(const InspectCommand& cmd) {
  cuda::RealBackendFactory cuda;
  auto r = inspect(cmd.dir, HostHandlerProbe(cuda), criu::plugin_dir(std::nullopt));
  if (!r) return print_error(r.error());
  if (cmd.json) {
    print_json(to_json(*r));
  } else {
    std::fputs(to_text(*r).c_str(), stdout);
  }
  return 0;
}

std::shared_ptr<InspectCommand> add_inspect(CLI::App& app, Action& action) {
  auto cmd = std::make_shared<InspectCommand>();
  auto* sub = app.add_subcommand("inspect", "Show what a CRIU image directory holds (gpucr's or not)");
  sub->add_option("dir", cmd->dir, "Image directory")->required();
  sub->add_flag("--json", cmd->json, "Print one JSON document on stdout");
  sub->callback([cmd, &action] { action = [cmd] { return run_inspect(*cmd); }; });
  return cmd;
}

}  // namespace gpucr::cli
