// What recovery works through: a subset of the drivers' seams (core/host.hpp builds it with
// Host::recovery()), so the guardian, `gpucr recover`, the poststop hook and the drivers all
// recover with the same code and the same fakes.
#pragma once

#include "common/run_dir.hpp"
#include "common/self_exec.hpp"
#include "freezer/freezer.hpp"
#include "gpu/cuda/select.hpp"
#include "proc/process_table.hpp"
#include "runtime/runtime.hpp"
#include "util/time.hpp"

#include <string>

namespace gpucr::recovery {

struct Seams {
  const proc::ProcessTable& procs;
  cuda::BackendFactory& cuda_backends;
  freezer::Freezer& freezer;
  runtime::RuntimeFactory& runtimes;
  const RunDir& run;
  TimeSource& time;
  std::string self_exe = self::kExe;  // the guardian is this binary again
};

}  // namespace gpucr::recovery
