#include "cli/commands.hpp"
#include "cli/output.hpp"
#include "cli/real_host.hpp"
#include "core/guardian.hpp"

#include <cstdio>

namespace gpucr::cli {

static int run_recover(const RecoverCommand& cmd) {
  proc::ProcFs procs;
  cuda::RealBackendFactory factory;
  auto deps = make_recover_deps(procs, factory);
  std::vector<fs::path> journals;
  if (cmd.journal) {
    journals.push_back(*cmd.journal);
  } else {
    journals = stale_journals(procs);
  }
  nlohmann::json doc{{"journals", nlohmann::json::array()}};
  int code = 0;
  for (const auto& j : journals) {
    auto rep = recover(j, deps);
    log_recovery(rep.lines);
    doc["journals"].push_back({{"journal", j.string()}, {"ok", rep.status.ok()}, {"lines", rep.lines}});
    if (!cmd.json) {
      for (const auto& l : rep.lines) std::printf("%s\n", l.c_str());
    }
    if (!rep.status) code = cmd.json ? static_cast<int>(rep.status.error().exit) : print_error(rep.status.error());
  }
  if (cmd.json) {
    print_json(doc);
  } else if (journals.empty()) {
    std::printf("nothing to recover: no unfinished operation in %s\n", journal_dir().c_str());
  }
  return code;
}

std::shared_ptr<RecoverCommand> add_recover(CLI::App& app, Action& action) {
  auto cmd = std::make_shared<RecoverCommand>();
  auto* sub = app.add_subcommand(
      "recover",
      "Finish operations a killed gpucr left: unlock/restore CUDA processes and return cgroups to their state");
  sub->add_option("--journal", cmd->journal,
                  "One journal file (default: every journal in $GPUCR_RUN_DIR/ops whose gpucr and guardian are gone)");
  sub->add_flag("--json", cmd->json, "Print one JSON document on stdout");
  sub->callback([cmd, &action] { action = [cmd] { return run_recover(*cmd); }; });
  return cmd;
}

}  // namespace gpucr::cli
