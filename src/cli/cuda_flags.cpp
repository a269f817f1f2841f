#include "cli/cuda_flags.hpp"

#include "cli/paths.hpp"

namespace gpucr::cli {

void add_cuda_flags(CLI::App* sub, CudaFlags& flags, CudaOptions& opts, bool lock) {
  sub->add_option("--cuda-backend", flags.backend,
                  "How to reach the driver's checkpoint API: api (libcuda.so.1), tool (cuda-checkpoint) or auto "
                  "(default: api when libcuda exports it, else tool)");
  sub->add_option("--cuda-checkpoint", opts.tool, "NVIDIA's cuda-checkpoint binary (default: from PATH)");
  if (lock) {
    sub->add_option("--gpu-lock-timeout", flags.lock_timeout_s,
                    "Seconds the driver may take to lock each CUDA process (default 10)")
        ->check(seconds_between(0.1, 3600.0));
  }
}

Status apply_cuda_flags(const CudaFlags& flags, CudaOptions& opts) {
  opts.backend = GPUCR_TRY(cuda::parse_backend_choice(flags.backend));
  opts.lock_timeout = std::chrono::milliseconds(static_cast<long long>(flags.lock_timeout_s * 1000));
  return {};
}

}  // namespace gpucr::cli
