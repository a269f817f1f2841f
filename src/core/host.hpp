// The seams a checkpoint or restore works through (ARCHITECTURE.md, "Seams"). The composition
// root (cli/compose.cpp) fills this with the real implementations for every entry mode; unit
// tests fill it with fakes (tests/unit/fakes.hpp). No driver reaches the system any other way:
// no geteuid(), no getenv(), no sleeping on its own clock.
#pragma once

#include "common/run_dir.hpp"
#include "common/self_exec.hpp"
#include "core/amd_host.hpp"
#include "core/progress.hpp"
#include "criu/plugins.hpp"
#include "criu/runner.hpp"
#include "freezer/freezer.hpp"
#include "gpu/cuda/inventory.hpp"
#include "gpu/cuda/select.hpp"
#include "hooks/gpu_presence.hpp"
#include "mm/thp.hpp"
#include "proc/control.hpp"
#include "proc/privileges.hpp"
#include "proc/process_table.hpp"
#include "recovery/seams.hpp"
#include "runtime/runtime.hpp"
#include "util/time.hpp"

#include <optional>

namespace gpucr {

struct Host {
  proc::ProcessTable& procs;
  proc::ProcessControl& control;        // signals to restored trees, reaping
  const proc::Privileges& privileges;
  TimeSource& time;
  criu::Runner& criu;
  Progress& progress;
  cuda::GpuInventory& gpus;             // NVIDIA GPUs as the CUDA backends see them
  cuda::BackendFactory& cuda_backends;
  freezer::Freezer& freezer;            // the tree's freezer cgroup (freezer/keeper.hpp)
  const criu::HandlerProbe& handlers;   // which GPU handlers this host has (criu/plugins.hpp)
  runtime::RuntimeFactory& runtimes;    // OCI runtimes (containers)
  hooks::GpuPresence& gpu_devices;      // the host's GPU device nodes (containers)
  const RunDir& run;                    // journals, locks, per-container records
  const AmdHost* amd = nullptr;         // AMD GPU seams; null: no AMD support
  mm::ThpSettings* thp = nullptr;       // the host's THP mode (--thp-window); null: none
  std::string self_exe = self::kExe;    // runs gpucr's helpers (common/self_exec.hpp)
  std::filesystem::path criu_plugin_dir = criu::kDefaultPluginDir;  // criu's own: $CRIU_LIBS_DIR or /usr/lib/criu
  // The caller's own $CRIU_CONFIG_FILE, kept in a runtime's criu configuration.
  std::optional<std::filesystem::path> criu_config_file;

  recovery::Seams recovery() const {
    recovery::Seams s{procs, control, cuda_backends, freezer, runtimes, run, time, self_exe};
    s.thp = thp;
    return s;
  }
};

}  // namespace gpucr
