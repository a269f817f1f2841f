// The seams a container driver works through: the process-tree seams (Host) plus the OCI
// runtime, the host's GPUs and gpucr's run directory. Filled by the CLI (cli/container.cpp,
// cli/wrapper.cpp) with real implementations and by unit tests with fakes.
#pragma once

#include "core/host.hpp"
#include "core/journal.hpp"
#include "hooks/gpu_presence.hpp"
#include "runtime/runtime.hpp"
#include "util/subprocess.hpp"

#include <filesystem>
#include <optional>

namespace gpucr {

struct ContainerHost {
  Host& host;                     // /proc, criu (its version goes in the manifest), progress
  runtime::Runtime& runtime;
  hooks::GpuPresence& gpus;
  std::filesystem::path run_dir;  // runtime::run_dir(): locks and per-container records
};

// Shared by the container drivers (container_checkpoint.cpp, container_restore.cpp).

// The engine's --image-path and --work-path resolved as the runtime does (relative to `cwd`);
// without a work path criu's logs go to the image directory.
struct ContainerDirs {
  std::filesystem::path image;
  std::filesystem::path work;
};
ContainerDirs container_dirs(const std::optional<std::filesystem::path>& image_path,
                             const std::optional<std::filesystem::path>& work_path, const std::filesystem::path& cwd);

// How recovery finds the container again: through its runtime and the runtime's global options.
JournalContainer journal_container(const ContainerHost& h, const std::string& id);

// "runc checkpoint of container ID failed (exit code 1)" with the Error lines of criu's log
// (`criu_log`, in the work directory) and where to read the rest.
Error runtime_failure(const ContainerHost& h, const std::string& verb, const std::string& id, const ExitStatus& st,
                      const std::filesystem::path& criu_log);

}  // namespace gpucr
