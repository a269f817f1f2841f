// The per-container lock: two gpucr operations on one container (a checkpoint from the CLI and
// one from an engine through the wrapper, say) never interleave. RUN_DIR/containers/<id>.lock
// (paths.hpp), an OpLock (common/op_lock.hpp).
#pragma once

#include "common/op_lock.hpp"
#include "common/run_dir.hpp"

#include <chrono>
#include <optional>
#include <string>

namespace gpucr::runtime {

using ContainerLock = OpLock;

// Waits up to `wait` for the lock of container `id` (0: one try), creating RUN_DIR/containers.
Result<ContainerLock> lock_container(const RunDir& run, const std::string& id, const std::string& operation,
                                     std::chrono::milliseconds wait);
// nullopt when another process holds it.
Result<std::optional<ContainerLock>> try_lock_container(const RunDir& run, const std::string& id,
                                                        const std::string& operation);
// The holder line when a gpucr operation holds the lock of `id` right now.
std::optional<std::string> container_lock_holder(const RunDir& run, const std::string& id);

}  // namespace gpucr::runtime
