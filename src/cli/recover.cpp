// `gpucr recover`: finishes the operations a killed gpucr left (recovery/recover.hpp), lists
// the journals it can't read, and discards one on request.
#include "cli/commands.hpp"
#include "cli/compose.hpp"
#include "cli/output.hpp"
#include "recovery/guardian.hpp"
#include "recovery/recover.hpp"

#include <cstdio>

namespace gpucr::cli {

namespace {

// A journal named on the command line must be one of the run directory's.
Result<fs::path> journal_in_run_dir(const RunDir& run, const fs::path& given) {
  std::error_code ec;
  fs::path abs = fs::absolute(given, ec).lexically_normal();
  if (ec || abs.parent_path() != run.ops() || abs.extension() != ".json") {
    return fail(Error(given.string() + " is not a journal of gpucr's run directory (" + run.ops().string() + ")",
                      Exit::usage));
  }
  return abs;
}

int discard(const recovery::Seams& seams, const fs::path& given) {
  auto path = journal_in_run_dir(seams.run, given);
  if (!path) return print_error(path.error());
  recovery::remove_journal(*path);
  recovery::log_recovery(seams.run, {"discarded " + path->string() + " on request (gpucr recover --discard)"});
  std::printf("discarded %s\n", path->c_str());
  return 0;
}

}  // namespace

static int run_recover(const RecoverCommand& cmd) {
  auto rh = RealHost::create({.need_criu = false, .quiet = true});
  if (!rh) return print_error(rh.error());
  auto seams = (*rh)->host().recovery();
  seams.cuda_tool = cmd.cuda_tool;
  seams.runtime = cmd.runtime;
  for (const auto& d : {seams.run.root(), seams.run.ops()}) {
    if (auto st = seams.run.check_existing(d); !st) return print_error(st.error());
  }
  if (cmd.discard) return discard(seams, *cmd.discard);
  std::vector<fs::path> journals;
  std::vector<std::pair<fs::path, Error>> unreadable;
  if (cmd.journal) {
    auto path = journal_in_run_dir(seams.run, *cmd.journal);
    if (!path) return print_error(path.error());
    if (auto st = recovery::check_abandoned(seams, *path); !st && !cmd.force) return print_error(st.error());
    journals.push_back(*path);
  } else {
    auto scan = recovery::scan_journals(seams);
    journals = scan.stale;
    unreadable = scan.unreadable;
  }
  nlohmann::json doc{{"journals", nlohmann::json::array()}, {"unreadable", nlohmann::json::array()}};
  int code = 0;
  for (const auto& j : journals) {
    auto rep = recovery::recover(j, seams);
    recovery::log_recovery(seams.run, rep.lines);
    doc["journals"].push_back({{"journal", j.string()}, {"ok", rep.status.ok()}, {"lines", rep.lines}});
    if (!cmd.json) {
      for (const auto& l : rep.lines) std::printf("%s\n", l.c_str());
    }
    if (!rep.status) code = cmd.json ? static_cast<int>(rep.status.error().exit) : print_error(rep.status.error());
  }
  for (const auto& [path, err] : unreadable) {
    doc["unreadable"].push_back({{"journal", path.string()}, {"error", err.what}});
    Error e("cannot read " + path.string() + ": " + err.what + "; what that operation changed is unknown",
            Exit::rollback_incomplete);
    e.hint = "check the processes and cgroups it may have touched, then `gpucr recover --discard " + path.string() + "`";
    code = cmd.json ? static_cast<int>(e.exit) : print_error(e);
  }
  if (cmd.json) {
    print_json(doc);
  } else if (journals.empty() && unreadable.empty()) {
    std::printf("nothing to recover: no unfinished operation in %s\n", seams.run.ops().c_str());
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
  sub->add_flag("--force", cmd->force,
                "With --journal: recover it even though the gpucr or guardian that owns it is still alive");
  sub->add_option("--discard", cmd->discard,
                  "Remove this journal without acting on it (one that can't be read or recovered)");
  sub->add_option("--cuda-checkpoint", cmd->cuda_tool,
                  "NVIDIA's cuda-checkpoint for journals of the tool backend (default: from PATH)");
  sub->add_option("--runtime", cmd->runtime,
                  "The OCI runtime of container journals (default: runc or crun, as the journal names it, from PATH)");
  sub->add_flag("--json", cmd->json, "Print one JSON document on stdout");
  sub->get_option("--journal")->excludes(sub->get_option("--discard"));
  sub->callback([cmd, &action] { action = [cmd] { return run_recover(*cmd); }; });
  return cmd;
}

}  // namespace gpucr::cli
