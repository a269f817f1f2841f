// Choosing the CUDA checkpoint backend: --cuda-backend api|tool|auto (default auto: the driver
// API when libcuda.so.1 exports it, else NVIDIA's cuda-checkpoint from --cuda-checkpoint PATH or
// PATH). A seam: unit tests supply a factory that returns fakes.
#pragma once

#include "common/self_exec.hpp"
#include "gpu/cuda/checkpointer.hpp"

#include <memory>
#include <optional>

namespace gpucr::cuda {

enum class BackendChoice { automatic, api, tool };
Result<BackendChoice> parse_backend_choice(const std::string& s);

class BackendFactory {
 public:
  virtual ~BackendFactory() = default;
  virtual Result<std::unique_ptr<Checkpointer>> make(BackendChoice choice,
                                                     const std::optional<std::filesystem::path>& tool) = 0;
};

class RealBackendFactory : public BackendFactory {
 public:
  explicit RealBackendFactory(std::string self_exe = self::kExe) : self_(std::move(self_exe)) {}
  Result<std::unique_ptr<Checkpointer>> make(BackendChoice choice,
                                             const std::optional<std::filesystem::path>& tool) override;

 private:
  // Asks a helper whether libcuda.so.1 loads and exports the checkpoint API; the error says why not.
  Status probe_api();
  std::string self_;
};

}  // namespace gpucr::cuda
