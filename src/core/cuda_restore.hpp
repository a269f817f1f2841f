// The CUDA side of a restore: before criu runs, check that a backend and the GPUs the image
// needs are here (completing --device-map); after criu restored the tree, find each CUDA
// process's new host pid through NSpid, then restore and unlock them all in parallel, each back
// to the state it had at checkpoint time.
#pragma once

#include "core/cuda_process.hpp"
#include "core/host.hpp"
#include "recovery/journal.hpp"
#include "gpu/cuda/device_map.hpp"
#include "manifest.pb.h"

#include <memory>

namespace gpucr {

// The map the driver needs to restore the CUDA processes of `m` on a host with GPUs `local`
// (gpu/cuda/device_map.hpp says who chooses): from `user_map` (--device-map, "auto" included),
// else onto `targets` (the GPUs the destination allocated: core/gpu_allocation.hpp), else none
// when every GPU they used is here. Errors name what is missing and, when the same chips are
// here under other UUIDs, the exact map --device-map auto uses. Shared with the prestart hook,
// `restore --import` and `inspect`.
Result<cuda::MapPlan> plan_manifest_gpus(const pb::Manifest& m, const std::vector<cuda::GpuInfo>& local,
                                         const std::optional<std::string>& user_map,
                                         const std::vector<cuda::Uuid>& targets = {},
                                         const std::string& targets_source = "");

class CudaRestore {
 public:
  CudaRestore(const CudaOptions& opts, Host& host, std::optional<std::string> device_map)
      : opts_(opts), host_(host), user_map_(std::move(device_map)) {}

  // Reads the manifest's CUDA records; needs a backend and the GPUs only when there are some.
  Status plan(const std::optional<pb::Manifest>& manifest);
  bool empty() const { return procs_.empty(); }
  const CudaOptions& options() const { return opts_; }
  void journal(recovery::JournalData& d) const;
  // Maps every CUDA process to its host pid in the restored tree rooted at `root`.
  Status find_restored(pid_t root);
  // Asks the driver about every process of the restored tree that may use CUDA and that the
  // manifest did not name (an image without a readable manifest, or one that lies): one that is
  // LOCKED or CHECKPOINTED is restored and unlocked with the others. Returns the pids adopted.
  Result<std::vector<pid_t>> adopt_unplanned(pid_t root);
  Status restore_all();
  Status unlock_all();
  // Asks the driver about every CUDA process once more: each must be in the state it had at
  // checkpoint time (running, unless it was locked or checkpointed then).
  Status verify();

  const std::vector<CudaProcess>& processes() const { return procs_; }
  const cuda::MapPlan& map() const { return map_; }
  std::vector<std::string> report_lines() const;

 private:
  std::string moved_to(const cuda::Uuid& old) const;
  const CudaOptions& opts_;
  Host& host_;
  std::optional<std::string> user_map_;
  std::unique_ptr<cuda::Checkpointer> backend_;
  std::vector<CudaProcess> procs_;
  std::vector<std::vector<pid_t>> nspids_;  // per process, as checkpointed (empty: adopted)
  cuda::MapPlan map_;
  bool found_ = false;  // host pids known (after find_restored)
};

}  // namespace gpucr
