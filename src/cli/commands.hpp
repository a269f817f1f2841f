// The subcommands. Each lives in its own file (checkpoint.cpp, ...): it declares its options
// on the CLI11 app, fills its request struct, and on selection sets `action` to a function that
// calls the core and returns the exit code. Tests parse argv and look at the structs.
#pragma once

#include "cli/cuda_flags.hpp"
#include "core/checkpoint.hpp"
#include "core/portable.hpp"
#include "core/restore.hpp"

#include <CLI/CLI.hpp>

#include <functional>
#include <memory>
#include <optional>

namespace gpucr::cli {

using Action = std::function<int()>;

// Options of `gpucr checkpoint/restore CONTAINER` (cli/container.cpp).
struct ContainerCli {
  std::string container;                  // positional; empty for a process tree
  std::string runtime = "runc";           // name in PATH or path
  std::optional<fs::path> root;           // the runtime's --root
  double lock_wait_s = 60;
  std::optional<fs::path> bundle;         // restore
  std::optional<fs::path> console_socket; // restore
};

struct CheckpointCommand {
  CheckpointRequest core;
  CudaFlags cuda;
  ContainerCli container;
  std::optional<fs::path> criu;
  bool json = false;
  std::string export_file;         // --export FILE|-
  std::string compress = "zstd";   // --compress
};

struct RestoreCommand {
  RestoreRequest core;
  CudaFlags cuda;
  ContainerCli container;
  std::optional<fs::path> criu;
  double pid_wait_s = 10;
  bool json = false;
  std::string import_file;         // --import FILE|-
};

struct InspectCommand {
  fs::path dir;    // an image directory, or an archive file ("-": stdin)
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
  std::string gpu = "auto";           // auto | on | off
  unsigned gpu_mib = 1024;            // device memory the GPU workload holds
  bool json = false;
};

std::shared_ptr<CheckpointCommand> add_checkpoint(CLI::App& app, Action& action);
std::shared_ptr<RestoreCommand> add_restore(CLI::App& app, Action& action);
std::shared_ptr<InspectCommand> add_inspect(CLI::App& app, Action& action);
std::shared_ptr<CheckCommand> add_check(CLI::App& app, Action& action);
std::shared_ptr<DemoCommand> add_demo(CLI::App& app, Action& action);

struct RecoverCommand {
  std::optional<fs::path> journal;  // default: every journal nobody is finishing
  std::optional<fs::path> discard;  // remove this journal unread (one that can't be recovered)
  bool force = false;               // act on a journal whose gpucr or guardian is alive
  std::optional<fs::path> cuda_tool;  // --cuda-checkpoint: the tool recovery may run
  std::optional<fs::path> runtime;    // --runtime: the runtime recovery may run
  bool json = false;
};
std::shared_ptr<RecoverCommand> add_recover(CLI::App& app, Action& action);
// Hidden helpers gpucr runs itself (common/self_exec.hpp): __cuda-call, __guardian.
void add_internal(CLI::App& app, Action& action);
void add_version(CLI::App& app, Action& action);
// The criu options of checkpoint and restore (core/request.hpp says how each reaches a
// container's criu): --manage-cgroups-mode, --criu-log-level, --criu-plugins-dir.
void add_criu_common_options(CLI::App& sub, CriuOptions& criu);
// --thp-window[=force] (checkpoint and restore, trees and containers; mm/thp_window.hpp).
void add_thp_window_option(CLI::App& sub, mm::ThpWindow& window);
void add_hook(CLI::App& app, Action& action);        // cli/hook.cpp
void add_install(CLI::App& app, Action& action);     // cli/install.cpp: install and uninstall

// Containers (cli/container.cpp): the CONTAINER positional and runtime options of checkpoint
// and restore, and what they put into the requests.
void add_container_options(CLI::App* sub, ContainerCli& c, bool restore);
// --criu-deadline SECONDS (checkpoint and restore, trees and containers).
void add_deadline_option(CLI::App* sub, std::optional<std::chrono::seconds>& deadline);
Result<ContainerRef> container_ref(const ContainerCli& c);

// Prints a finished checkpoint's report (text or --json) and returns the exit code. `archive`:
// the archive an export wrote.
int print_checkpoint_report(const CheckpointRequest& req, const CheckpointReport& r, bool json,
                            const ArchiveSummary* archive = nullptr);
// Prints a restore's report; returns an exit code on failure, nothing on success (the caller
// then waits for the restored tree or container in the foreground). `archive`: the archive an
// import read.
std::optional<int> print_restore_report(const RestoreRequest& req, const RestoreReport& r, bool json,
                                        const ArchiveSummary* archive = nullptr);

// The OCI runtime wrapper (cli/wrapper.cpp). gpucr invoked as gpucr-NAME (a symlink) is the
// wrapper of runtime NAME; `gpucr runtime --runtime PATH -- ARGS...` is the same by hand.
// Both return the exit code (or exec the real runtime and never return).
int run_wrapper_named(const std::string& name, int argc, char** argv);
int run_runtime_command(int argc, char** argv);
std::optional<std::string> wrapper_runtime_name(const char* argv0);
void add_runtime_help(CLI::App& app);

// Registers every subcommand on `app` (unit tests build the whole command line with it).
void add_all_commands(CLI::App& app, Action& action);

// The whole command line: global options and every subcommand. `run` parses, runs the selected
// action and maps every failure to an exit code (the one catch in gpucr is here).
int run(int argc, char** argv);

}  // namespace gpucr::cli
