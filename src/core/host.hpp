// The seams a checkpoint or restore driver works through. The CLI fills this with the real
// implementations; unit tests fill it with fakes (tests/unit/fakes.hpp).
#pragma once

#include "core/amd_host.hpp"
#include "core/progress.hpp"
#include "criu/runner.hpp"
#include "proc/process_table.hpp"

namespace gpucr {

struct Host {
  proc::ProcessTable& procs;
  criu::Runner& criu;
  Progress& progress;
  const AmdHost* amd = nullptr;  // AMD GPU seams; null: no AMD support
};

}  // namespace gpucr
