// The seams a container driver works through: the process-tree seams (Host) plus the OCI
// runtime, the host's GPUs and gpucr's run directory. Filled by the CLI (cli/container.cpp,
// cli/wrapper.cpp) with real implementations and by unit tests with fakes.
#pragma once

#include "core/host.hpp"
#include "hooks/gpu_presence.hpp"
#include "runtime/runtime.hpp"

#include <filesystem>

namespace gpucr {

struct ContainerHost {
  Host& host;                     // /proc, criu (its version goes in the manifest), progress
  runtime::Runtime& runtime;
  hooks::GpuPresence& gpus;
  std::filesystem::path run_dir;  // runtime::run_dir(): locks and per-container records
};

}  // namespace gpucr
