// The CUDA side of a checkpoint: find the tree's CUDA processes, check the driver can take them,
// lock and checkpoint them all in parallel before criu runs, and afterwards (--leave-running or
// any failure) return every process gpucr moved to its initial state.
#pragma once

#include "core/cuda_process.hpp"
#include "core/host.hpp"
#include "recovery/journal.hpp"
#include "gpu/cuda/detect.hpp"
#include "manifest.pb.h"

#include <memory>

namespace gpucr {

class CudaCheckpoint {
 public:
  CudaCheckpoint(const CudaOptions& opts, Host& host) : opts_(opts), host_(host) {}

  // No driver calls: does the tree hold processes that may use CUDA (NVIDIA device files open
  // or libcuda mapped)? Decides whether a frozen cgroup must be thawed.
  bool find_candidates(const std::vector<proc::ProcInfo>& tree);
  bool has_candidates() const { return !candidates_.empty(); }
  const std::vector<cuda::Candidate>& candidates() const { return candidates_; }

  // Asks the driver about each candidate (never about anything else). Refuses processes holding
  // NVIDIA device files without a CUDA context. A missing backend is an error only here, when
  // candidates exist.
  Status classify();
  // Before anything is locked: host memory for the staged device memory (and the image when it
  // goes to tmpfs), MIG, MPS. --force skips these refusals.
  Status preflight(const fs::path& image_dir, std::uint64_t tree_rss);
  Status lock_all();
  Status checkpoint_all();
  // Returns every process gpucr moved to its initial state (restore + unlock, in parallel).
  Status rollback();

  bool empty() const { return procs_.empty(); }
  const CudaOptions& options() const { return opts_; }
  const std::vector<CudaProcess>& processes() const { return procs_; }
  // The processes that ended on their own while gpucr had moved them ("pid 7 (app)").
  const std::vector<std::string>& gone() const { return gone_; }
  void record(pb::Manifest& m) const;
  void journal(recovery::JournalData& d) const;
  std::vector<std::string> report_lines() const;

 private:
  Status refuse_unsupported();
  const CudaOptions& opts_;
  Host& host_;
  std::vector<cuda::Candidate> candidates_;
  std::unique_ptr<cuda::Checkpointer> backend_;
  std::vector<cuda::GpuInfo> gpus_;
  std::vector<CudaProcess> procs_;
  std::vector<std::string> gone_;
};

}  // namespace gpucr
