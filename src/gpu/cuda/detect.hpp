// Finding the CUDA processes of a tree, cheaply, before asking the driver.
//
// A process is a candidate when it holds NVIDIA device files (.../dev/nvidia*) or maps libcuda. Only
// candidates are ever passed to the driver (a state query confirms them); every other process is
// never touched. A candidate whose state query says "not initialized" while it holds NVIDIA
// device files has GPU resources without a CUDA context (a child forked without exec, an NVML-
// only user): the driver can't checkpoint it and criu can't dump it, so gpucr refuses.
#pragma once

#include "proc/process_table.hpp"

#include <vector>

namespace gpucr::cuda {

struct Candidate {
  proc::ProcInfo info;
  bool device_fds = false;          // holds /dev/nvidia* fds
  bool libcuda = false;             // maps libcuda.so*
  std::vector<int> minors;          // N of each /dev/nvidiaN it holds
  int uvm_mappings = 0;             // mappings of nvidia-uvm: more than one means managed memory
                                    // (measured on driver 580: a plain CUDA process has one)
};

// For a path ".../dev/nvidiaN" returns N; for another ".../dev/nvidia*" (nvidiactl,
// nvidia-uvm, ...) returns -1; for anything else kNotNvidia. Any directory named dev counts, so a
// container's /dev and the test suite's fake device directory both match.
inline constexpr int kNotNvidia = -2;
int nvidia_device_minor(std::string_view path);

std::vector<Candidate> find_candidates(const proc::ProcessTable& procs, const std::vector<proc::ProcInfo>& tree);

}  // namespace gpucr::cuda
