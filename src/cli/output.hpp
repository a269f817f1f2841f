// How the CLI shows things: errors, progress, phase tables, JSON documents.
#pragma once

#include "core/phases.hpp"
#include "core/progress.hpp"
#include "util/error.hpp"

#include <nlohmann/json.hpp>

#include <memory>

namespace gpucr::cli {

// "gpucr: error: WHAT", the details indented, then "hint: ...". Returns the exit code.
int print_error(const Error& e);

// Live status line on a terminal; one line per finished phase otherwise. Always on stderr.
std::unique_ptr<Progress> make_progress();

// "  phase               duration" lines.
std::string phase_table(const std::vector<PhaseTiming>& phases);
nlohmann::json phases_json(const std::vector<PhaseTiming>& phases);
nlohmann::json error_json(const Error& e);

// Prints `doc` on stdout, indented.
void print_json(const nlohmann::json& doc);

}  // namespace gpucr::cli
