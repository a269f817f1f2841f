// The subcommands. Each lives in its own file (checkpoint.cpp, ...): it declares its options
// on the CLI11 app, fills its options struct, and on selection sets `action` to a function that
// calls the core and returns the exit code. Tests parse argv and look at the structs.
#pragma once

#include "core/checkpoint.hpp"
#include "core/restore.hpp"

#include <CLI/CLI.hpp>

#include <functional>
#include <memory>
#include <optional>

namespace gpucr::cli {

using Action = std::function<int()>;

struct CheckpointCommand {
  CheckpointOptions core;
  std::optional<fs::path> criu;
  bool json = false;
};

struct RestoreCommand {
  RestoreOptions core;
  std::optional<fs::path> criu;
  bool detach = false;
  double pid_wait_s = 10;
  bool json = false;
};

struct InspectCommand {
  fs::path dir;
  AmdOptions amd;  // --amd-skip-check, for the mapping shown
  bool json = false;
};

struct CheckCommand {
  std::optional<fs::path> criu;
  bool json = false;
};

struct DemoCommand {
  std::optional<fs::path> criu;
  std::optional<fs::path> image_dir;  // default: a temporary directory, removed afterwards
  unsigned mib = 256;                 // memory the workload holds and verifies
  bool json = false;
};

std::shared_ptr<CheckpointCommand> add_checkpoint(CLI::App& app, Action& action);
std::shared_ptr<RestoreCommand> add_restore(CLI::App& app, Action& action);
std::shared_ptr<InspectCommand> add_inspect(CLI::App& app, Action& action);
std::shared_ptr<CheckCommand> add_check(CLI::App& app, Action& action);
std::shared_ptr<DemoCommand> add_demo(CLI::App& app, Action& action);
void add_version(CLI::App& app, Action& action);

// The whole command line: global options and every subcommand. `run` parses, runs the selected
// action and maps every failure to an exit code (the one catch in gpucr is here).
int run(int argc, char** argv);

}  // namespace gpucr::cli
