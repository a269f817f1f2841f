// The seams a checkpoint or restore driver works through. The CLI fills this with the real
// implementations (cli/real_host.cpp); unit tests fill it with fakes (tests/unit/fakes.hpp).
#pragma once

#include "core/amd_host.hpp"
#include "core/progress.hpp"
#include "criu/plugins.hpp"
#include "criu/runner.hpp"
#include "gpu/cuda/inventory.hpp"
#include "gpu/cuda/select.hpp"
#include "freezer/freezer.hpp"
#include "proc/process_table.hpp"

namespace gpucr {

struct Host {
  proc::ProcessTable& procs;
  criu::Runner& criu;
  Progress& progress;
  cuda::GpuInventory& gpus;
  cuda::BackendFactory& cuda_backends;
  freezer::Freezer& freezer;            // the tree's freezer cgroup (freezer/keeper.hpp)
  const criu::HandlerProbe& handlers;   // which GPU handlers this host has (criu/plugins.hpp)
  const AmdHost* amd = nullptr;         // AMD GPU seams; null: no AMD support
  std::string self_exe = "/proc/self/exe";  // runs gpucr's helpers: __cuda-call, __guardian
};

}  // namespace gpucr
