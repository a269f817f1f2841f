// OCI runtime command lines (runc 1.1 and crun spellings): built from option structs for
// `gpucr checkpoint/restore CONTAINER`, and parsed from an engine's argv by the runtime wrapper
// (`gpucr-runc ...`) and by the prestart hook (which reads its parent runtime's command line).
//
//   RUNTIME [GLOBAL OPTIONS] COMMAND [COMMAND OPTIONS] CONTAINER-ID
//
// Options are accepted as --name, -name (Go's flag style, runc), --name=VALUE and --name VALUE;
// boolean options also as --name=true|false. Global options that take a value: --root, --log,
// --log-format, --log-level, --criu, --rootless, --cgroup-manager; boolean: --debug,
// --systemd-cgroup, --help/-h, --version/-v.
#pragma once

#include "util/result.hpp"

#include <filesystem>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace gpucr::runtime {

namespace fs = std::filesystem;

// Options gpucr understands for `<runtime> checkpoint`.
struct CheckpointArgs {
  std::string id;
  std::optional<fs::path> image_path;   // the runtime's default: ./checkpoint
  std::optional<fs::path> work_path;    // the runtime's default: the image path
  bool leave_running = false;
  bool tcp_established = false;
  bool ext_unix_sk = false;
  bool shell_job = false;
  bool file_locks = false;
  bool pre_dump = false;
  std::string manage_cgroups_mode;      // empty: the runtime's default
};

// Options gpucr understands for `<runtime> restore`.
struct RestoreArgs {
  std::string id;
  std::optional<fs::path> image_path;
  std::optional<fs::path> work_path;
  std::optional<fs::path> bundle;       // the runtime's default: the current directory
  bool detach = false;
  std::optional<fs::path> pid_file;
  std::optional<fs::path> console_socket;
  bool tcp_established = false;
  bool ext_unix_sk = false;
  bool shell_job = false;
  bool file_locks = false;
  std::string manage_cgroups_mode;
};

// The arguments after the runtime's global options, starting with the command word.
std::vector<std::string> checkpoint_argv(const CheckpointArgs& a);
std::vector<std::string> restore_argv(const RestoreArgs& a);

// An engine's argv (without argv[0]) split at the command word.
struct Invocation {
  std::vector<std::string> globals;       // verbatim, in order
  std::string command;                    // empty when there is none (e.g. `runc --version`)
  std::vector<std::string> command_args;  // verbatim, after the command word
  std::optional<fs::path> root;           // --root, when given
  std::optional<fs::path> criu;           // --criu, when given
};

// Fails (the caller then passes the argv through untouched) on a global option it doesn't know:
// it could take a value, so the command word can't be found with certainty.
Result<Invocation> split_invocation(const std::vector<std::string>& args);

// Why a checkpoint or restore command line is handed to the runtime without orchestration:
// --help, a missing value or id (the runtime prints its own usage error), an option gpucr does
// not know (`warn`: gpucr says so on stderr), or a pre-dump.
struct Passthrough {
  std::string reason;
  bool warn = false;
};

std::variant<CheckpointArgs, Passthrough> parse_checkpoint(const std::vector<std::string>& command_args);
std::variant<RestoreArgs, Passthrough> parse_restore(const std::vector<std::string>& command_args);

// `restore_args` (from the command word "restore" on, as an engine gave them) with the image
// path set to `image_path`: every --image-path value is replaced (one is added when there is
// none); when `work_path` is set, a --work-path with an empty value (the runtime's default) gets
// it, and it is added when the command has no --work-path. Options are read as parse_restore
// reads them: up to "--", after the id too (crun accepts them there). Added options go right
// after the command word; everything else stays as it was.
std::vector<std::string> with_image_path(const std::vector<std::string>& restore_args, const fs::path& image_path,
                                         const std::optional<fs::path>& work_path);

// The image path a command uses: the given one made absolute against `cwd`, else cwd/checkpoint.
fs::path effective_image_path(const std::optional<fs::path>& given, const fs::path& cwd);

}  // namespace gpucr::runtime
