// The seams a checkpoint or restore driver works through. The CLI fills this with the real
// implementations; unit tests fill it with fakes (tests/unit/fakes.hpp).
#pragma once

#include "core/progress.hpp"
#include "criu/plugins.hpp"
#include "criu/runner.hpp"
#include "freezer/freezer.hpp"
#include "proc/process_table.hpp"

namespace gpucr {

struct Host {
  proc::ProcessTable& procs;
  criu::Runner& criu;
  Progress& progress;
  freezer::Freezer& freezer;            // the tree's freezer cgroup (freezer/keeper.hpp)
  const criu::HandlerProbe& handlers;   // which GPU handlers this host has (criu/plugins.hpp)
};

}  // namespace gpucr
