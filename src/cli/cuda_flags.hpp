// The CUDA options shared by `checkpoint`, `restore` and `recover`.
#pragma once

#include "core/cuda_process.hpp"

#include <CLI/CLI.hpp>

namespace gpucr::cli {

struct CudaFlags {
  std::string backend = "auto";
  double lock_timeout_s = 10;
};

// Adds --cuda-backend, --cuda-checkpoint, --gpu-lock-timeout (when `lock`) to `sub`.
void add_cuda_flags(CLI::App* sub, CudaFlags& flags, CudaOptions& opts, bool lock);
// Copies the parsed flags into `opts`; fails on an invalid backend name.
Status apply_cuda_flags(const CudaFlags& flags, CudaOptions& opts);

}  // namespace gpucr::cli
