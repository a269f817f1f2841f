#include "cli/amd_host.hpp"
#include "cli/amd_options.hpp"
#include "cli/commands.hpp"
#include "cli/output.hpp"
#include "core/handler_probe.hpp"
#include "core/amd_inspect.hpp"
#include "core/inspect.hpp"
#include "gpu/cuda/select.hpp"

#include <cstdio>
#include <cstdlib>

namespace gpucr::cli {

static int run_inspect(const InspectCommand& cmd) {
  cuda::RealBackendFactory cuda;
  const char* libs = std::getenv("CRIU_LIBS_DIR");
  std::optional<fs::path> libs_dir;
  if (libs && *libs) libs_dir = libs;
  auto r = inspect(cmd.dir, HostHandlerProbe(cuda, libs_dir), criu::plugin_dir(std::nullopt, libs));
  if (!r) return print_error(r.error());
  RealAmdHost amd;  // the local AMD topology, for the mapping a restore would use
  auto a = inspect_amd(cmd.dir, r->manifest, &amd.host(), effective_checks(&amd.host(), cmd.amd));
  if (!a) return print_error(a.error());
  if (cmd.json) {
    auto doc = to_json(*r);
    doc["amd"] = to_json(*a);
    print_json(doc);
  } else {
    std::fputs((to_text(*r) + to_text(*a)).c_str(), stdout);
  }
  return 0;
}

std::shared_ptr<InspectCommand> add_inspect(CLI::App& app, Action& action) {
  auto cmd = std::make_shared<InspectCommand>();
  auto* sub = app.add_subcommand("inspect", "Show what a CRIU image directory holds (gpucr's or not)");
  sub->add_option("dir", cmd->dir, "Image directory")->required();
  add_skip_check_option(sub, cmd->amd);
  sub->add_flag("--json", cmd->json, "Print one JSON document on stdout");
  sub->callback([cmd, &action] { action = [cmd] { return run_inspect(*cmd); }; });
  return cmd;
}

}  // namespace gpucr::cli
