#include "cli/real_host.hpp"

#include "cli/output.hpp"
#include "freezer/keeper.hpp"
#include "runtime/cli_runtime.hpp"

#include <google/protobuf/util/json_util.h>

namespace gpucr::cli {

RealHost::RealHost(criu::Binary bin, bool quiet)
    : criu_(std::move(bin)),
      progress_(quiet ? std::make_unique<NullProgress>() : make_progress()),
      handlers_(cuda_backends_),
      amd_(criu_.binary().path),
      host_{procs_, criu_, *progress_, gpus_, cuda_backends_, freezer_, handlers_, &amd_.host()} {}

Result<std::unique_ptr<RealHost>> RealHost::create(const std::optional<fs::path>& criu_flag, bool quiet) {
  auto bin = GPUCR_TRY(criu::locate(criu_flag));
  return std::unique_ptr<RealHost>(new RealHost(std::move(bin), quiet));
}

RecoverDeps make_recover_deps(const proc::ProcessTable& procs, cuda::BackendFactory& factory) {
  RecoverDeps deps{procs, {}, {}};
  auto fz = std::make_shared<freezer::CgroupFs>();
  deps.freezer = [fz](const nlohmann::json& j, bool thaw) -> Status {
    pb::FreezerRecord rec;
    if (!google::protobuf::util::JsonStringToMessage(j.dump(), &rec).ok()) {
      return fail(Error("the journal's freezer record is unreadable", Exit::rollback_incomplete));
    }
    if (!thaw) return freezer::restore_original_state(*fz, rec);
    freezer::Cgroup cg = freezer::from_record(rec);
    if (!fz->exists(cg)) return {};
    return fz->thaw(cg, freezer::kDefaultTimeout);
  };
  deps.container_init = [](const JournalContainer& c) -> std::optional<pid_t> {
    runtime::CliRuntime rt(c.runtime, c.globals);
    auto s = rt.state(c.id);
    if (!s || (s->status != "running" && s->status != "paused") || s->pid <= 0) return std::nullopt;
    return s->pid;
  };
  deps.backend = [&factory](const JournalData& d) {
    auto choice = d.backend == "tool" ? cuda::BackendChoice::tool : cuda::BackendChoice::api;
    std::optional<fs::path> tool;
    if (!d.tool.empty()) tool = d.tool;
    return factory.make(choice, tool);
  };
  return deps;
}

void recover_abandoned(Host& host) {
  auto stale = stale_journals(host.procs);
  if (stale.empty()) return;
  auto deps = make_recover_deps(host.procs, host.cuda_backends);
  for (const auto& j : stale) {
    host.progress.note("finishing an operation an earlier gpucr left unfinished: " + j.string());
    auto rep = recover(j, deps);
    for (const auto& l : rep.lines) host.progress.note(l);
    if (!rep.status) print_error(rep.status.error());
  }
}

}  // namespace gpucr::cli
