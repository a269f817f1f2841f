// What the container targets (core/container_checkpoint_target.cpp,
// core/container_restore_target.cpp) share: how recovery finds the container, the runtime's
// failure as an error, and the configuration file that carries gpucr's criu options into the
// criu a runtime runs.
#pragma once

#include "core/host.hpp"
#include "core/request.hpp"
#include "recovery/journal.hpp"
#include "runtime/runtime.hpp"

#include <map>
#include <string>

namespace gpucr {

// How recovery finds the container again: through its runtime and the runtime's global options.
recovery::JournalContainer journal_container(const ContainerRef& c);

// "runc checkpoint of container ID failed (exit code 1)" with the Error lines of criu's log
// (`criu_log`, in the work directory) and where to read the rest.
Error runtime_failure(const runtime::Runtime& rt, const std::string& verb, const std::string& id, const ExitStatus& st,
                      const fs::path& criu_log);

// The options a runtime's criu can't take from gpucr's command line (core/request.hpp): refused
// with a usage error naming the flag and why.
Status refuse_runtime_criu_options(const CriuOptions& o, const std::string& what);

// The runtime's criu reads $CRIU_CONFIG_FILE also in RPC mode (before the RPC options, which
// override it; docs/CONTAINERS.md). Writes `journal`'s side file ".criu.conf" (the caller's own
// configuration file first, when `own` names one, then `lines`) and returns the environment
// that points criu at it, with GPUCR_JOURNAL for the action-script hook.
Result<std::map<std::string, std::string>> runtime_criu_env(const recovery::Journal& journal,
                                                            const std::optional<fs::path>& own,
                                                            const std::vector<std::string>& lines);

}  // namespace gpucr
