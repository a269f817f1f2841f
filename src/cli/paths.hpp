// Paths from the command line, made absolute before anything runs (a relative path means the
// same thing to every process gpucr starts, whatever its working directory).
#pragma once

#include "util/result.hpp"

#include <CLI/CLI.hpp>

#include <chrono>
#include <filesystem>
#include <optional>

namespace gpucr::cli {

// `image` and `work` (when given) made absolute against the cwd. `image` is required unless
// `image_optional` (an archive's export or import, which can use a private directory instead).
Status absolute_paths(std::filesystem::path& image, std::optional<std::filesystem::path>& work,
                      bool image_optional = false);
// One optional path made absolute; `option` names it in the error.
Status absolute_path(std::optional<std::filesystem::path>& p, const char* option);

// A CLI11 check: a finite number of seconds within [lo, hi] (CLI::Range lets NaN through, since
// every comparison with NaN is false).
CLI::Validator seconds_between(double lo, double hi);

// Seconds from the command line as a duration.
inline std::chrono::milliseconds seconds(double s) {
  return std::chrono::milliseconds(static_cast<long long>(s * 1000));
}

}  // namespace gpucr::cli
