// Fakes for the CUDA seams: a GPU inventory with fixed contents and a backend factory that
// hands out a scripted checkpointer (or says no backend is installed).
#pragma once

#include "gpu/cuda/inventory.hpp"
#include "gpu/cuda/select.hpp"

#include <functional>
#include <memory>

namespace gpucr::testing {

class FakeGpuInventory : public cuda::GpuInventory {
 public:
  std::vector<cuda::GpuInfo> list;
  Result<std::vector<cuda::GpuInfo>> gpus() override { return list; }
};

// make() returns the checkpointer `create` builds, or "no CUDA backend" when it is empty.
class FakeBackendFactory : public cuda::BackendFactory {
 public:
  std::function<std::unique_ptr<cuda::Checkpointer>()> create;
  Result<std::unique_ptr<cuda::Checkpointer>> make(cuda::BackendChoice,
                                                   const std::optional<std::filesystem::path>&) override {
    if (!create) return fail(Error("no CUDA checkpoint backend (fake host)", Exit::missing_dependency));
    return create();
  }
};

}  // namespace gpucr::testing
