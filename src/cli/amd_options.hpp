// Command-line options for AMD GPUs and CRIU plugins, shared by checkpoint, restore and inspect.
#pragma once

#include "core/amd_host.hpp"

#include <CLI/CLI.hpp>

namespace gpucr::cli {

// --criu-plugins-dir DIR (CriuOptions::plugins_dir)
void add_plugins_dir_option(CLI::App* sub, std::optional<fs::path>& dir);
// --amd-skip-check LIST (repeatable; names in gpu/amd/checks.hpp)
void add_skip_check_option(CLI::App* sub, AmdOptions& o);
// --amd-max-buffer SIZE
void add_max_buffer_option(CLI::App* sub, AmdOptions& o);

}  // namespace gpucr::cli
