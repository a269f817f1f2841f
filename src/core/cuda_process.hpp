// A CUDA process of an operation, and running one checkpoint-API step on many at once.
#pragma once

#include "core/gpu_allocation.hpp"
#include "core/phases.hpp"
#include "gpu/cuda/checkpointer.hpp"
#include "gpu/cuda/select.hpp"
#include "util/file.hpp"
#include "proc/process_table.hpp"

#include <chrono>
#include <functional>
#include <string>
#include <vector>

namespace gpucr {

struct CudaOptions {
  cuda::BackendChoice backend = cuda::BackendChoice::automatic;
  std::optional<fs::path> tool;                      // --cuda-checkpoint PATH
  std::chrono::milliseconds lock_timeout{10000};     // --gpu-lock-timeout
  int lock_attempts = 3;                             // a process still initializing CUDA refuses a lock
  bool force = false;                                // --force: skip the refusable preflight checks
  // Restore: the GPUs the destination allocated to the restored container (its new config.json,
  // core/gpu_allocation.hpp); its CUDA processes move onto them. Unset: any GPU of this host.
  std::optional<GpuAllocation> allocation;
};

struct CudaProcess {
  proc::ProcInfo info;                     // host pid (new host pid after a restore)
  cuda::State initial = cuda::State::running;  // before gpucr touched it (at checkpoint time)
  cuda::State now = cuda::State::running;      // last state gpucr knows it put it in
  bool known = true;                       // false when a call got no answer (state unknown)
  std::vector<cuda::Uuid> gpus;            // GPUs it had a context on
  std::vector<std::string> gpu_names;
  std::uint64_t device_bytes = 0;
  int uvm_mappings = 0;                    // > 1: managed memory in use (see gpu/cuda/detect.hpp)
  std::vector<PhaseTiming> timings;        // its own lock / checkpoint / restore / unlock
  std::vector<std::string> outcome;        // what happened to it, for the report

  std::string who() const { return "pid " + std::to_string(info.pid) + " (" + info.comm + ")"; }
  bool moved() const { return !known || now != initial; }
};

// Runs `step` on every process `selected` says yes to, in parallel, each under its own
// deadline. On success sets `now` to `after`. Records per-process timings and outcome lines.
// Fails with every per-process failure in the details (the first one as the headline).
Status run_step(cuda::Checkpointer& backend, std::vector<CudaProcess>& procs, cuda::Step step,
                const cuda::CallArgs& args, cuda::State after, const std::function<bool(const CudaProcess&)>& selected);

// Lock with bounded retries: NVIDIA documents that a process still initializing CUDA can refuse
// a lock as an illegal state; gpucr asks again (only then) while the driver still reports it
// RUNNING. A lock timeout is not retried: --gpu-lock-timeout is the user's bound.
Status lock_step(cuda::Checkpointer& backend, std::vector<CudaProcess>& procs, const CudaOptions& opts);

}  // namespace gpucr
