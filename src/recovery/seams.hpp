// What recovery works through: a subset of the drivers' seams (core/host.hpp builds it with
// Host::recovery()), so the guardian, `gpucr recover`, the poststop hook and the drivers all
// recover with the same code and the same fakes.
#pragma once

#include "common/run_dir.hpp"
#include "common/self_exec.hpp"
#include "freezer/freezer.hpp"
#include "gpu/cuda/select.hpp"
#include "mm/thp.hpp"
#include "proc/control.hpp"
#include "proc/process_table.hpp"
#include "runtime/runtime.hpp"
#include "util/time.hpp"

#include <filesystem>
#include <optional>
#include <string>

namespace gpucr::recovery {

struct Seams {
  const proc::ProcessTable& procs;
  proc::ProcessControl& control;     // stops a criu past its deadline, kills a half-restored tree
  cuda::BackendFactory& cuda_backends;
  freezer::Freezer& freezer;
  runtime::RuntimeFactory& runtimes;
  const RunDir& run;
  TimeSource& time;
  std::string self_exe = self::kExe;  // the guardian is this binary again
  // What recovery runs comes from gpucr's own configuration, never from a journal (a journal is
  // a file; ARCHITECTURE.md, "Safety"): the cuda-checkpoint tool (unset: the one in PATH) and
  // the OCI runtime of a container (unset: runc or crun, as the journal names it, from PATH).
  std::optional<std::filesystem::path> cuda_tool;
  std::optional<std::filesystem::path> runtime;
  mm::ThpSettings* thp = nullptr;     // closes a dead operation's THP window (mm/thp_window.hpp)
};

}  // namespace gpucr::recovery
