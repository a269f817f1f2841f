// How the CLI shows things: errors, progress, phase tables, JSON documents.
#pragma once

#include "core/phases.hpp"
#include "core/progress.hpp"
#include "util/error.hpp"

#include <nlohmann/json.hpp>

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace gpucr::cli {

// "gpucr: error: WHAT", the details indented, then "hint: ...". Returns the exit code.
int print_error(const Error& e);

// Live status line on a terminal; one line per finished phase otherwise. Always on stderr.
std::unique_ptr<Progress> make_progress();

// "  phase               duration" lines.
std::string phase_table(const std::vector<PhaseTiming>& phases);
nlohmann::json phases_json(const std::vector<PhaseTiming>& phases);
nlohmann::json error_json(const Error& e);

// "  CUDA ..." lines of a report: on stdout after success, on stderr before a failure's error.
void print_cuda_report(const std::vector<std::string>& lines, bool ok);

// The end of a restore's report, after its first lines: without --json the CUDA lines and the
// phase table, or the CUDA lines and the error. Returns the exit code on failure, nothing on
// success (the caller goes on: waits for the restored tree in the foreground).
std::optional<int> finish_report(const Status& status, const std::vector<std::string>& cuda_report,
                                 const std::vector<PhaseTiming>& phases, bool json);

// Prints `doc` on stdout, indented.
void print_json(const nlohmann::json& doc);

}  // namespace gpucr::cli
