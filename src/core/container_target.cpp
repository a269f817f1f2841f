#include "core/container_target.hpp"

#include "criu/runner.hpp"
#include "util/file.hpp"

namespace gpucr {

recovery::JournalContainer journal_container(const ContainerRef& c) {
  return recovery::JournalContainer{c.id, c.runtime.string(), c.globals};
}

Error runtime_failure(const runtime::Runtime& rt, const std::string& verb, const std::string& id, const ExitStatus& st,
                      const fs::path& criu_log) {
  Error e(rt.name() + " " + verb + " of container " + id + " failed (" + st.describe() + ")");
  if (auto log = read_file(criu_log)) e.details = criu::error_lines(*log);
  e.hint = "the runtime's own messages are above; criu's log: " + criu_log.string();
  criu::explain(e);
  return e;
}

Status refuse_runtime_criu_options(const CriuOptions& o, const std::string& what) {
  if (o.log_level) {
    return fail(Error("--criu-log-level applies to process trees only: for " + what +
                          " the OCI runtime sets criu's log level itself (runc: 4), and gpucr can't override it",
                      Exit::usage)
                    .with_hint("leave the option out; the runtime's criu log is in the work directory"));
  }
  if (o.freeze_cgroup) {
    return fail(Error("--freeze-cgroup applies to process trees only: for " + what +
                          " the OCI runtime freezes the container's own cgroup itself",
                      Exit::usage)
                    .with_hint("leave the option out"));
  }
  return {};
}

Result<std::map<std::string, std::string>> runtime_criu_env(const recovery::Journal& journal,
                                                            const std::optional<fs::path>& own,
                                                            const std::vector<std::string>& lines) {
  std::string conf;
  if (own && !own->empty()) {
    auto text = read_file(*own);
    if (!text) return fail(std::move(text).error().context("reading CRIU_CONFIG_FILE"));
    conf = *text;
    if (!conf.empty() && conf.back() != '\n') conf += '\n';
  }
  for (const auto& l : lines) conf += l + "\n";
  fs::path file = journal.side_file(".criu.conf");
  GPUCR_TRY(write_file_atomic(file, conf, 0600));
  return std::map<std::string, std::string>{{"CRIU_CONFIG_FILE", file.string()},
                                            {self::kJournalEnv, journal.path().string()}};
}

}  // namespace gpucr
