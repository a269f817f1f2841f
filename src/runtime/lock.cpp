#include "runtime/lock.hpp"

#include "runtime/paths.hpp"

namespace gpucr::runtime {

Result<ContainerLock> lock_container(const RunDir& run, const std::string& id, const std::string& operation,
                                     std::chrono::milliseconds wait) {
  GPUCR_TRY(run.ensure("containers"));
  return OpLock::acquire(container_lock_file(run, id), "container " + id, operation, wait);
}

Result<std::optional<ContainerLock>> try_lock_container(const RunDir& run, const std::string& id,
                                                        const std::string& operation) {
  GPUCR_TRY(run.ensure("containers"));
  return OpLock::try_acquire(container_lock_file(run, id), operation);
}

std::optional<std::string> container_lock_holder(const RunDir& run, const std::string& id) {
  return OpLock::holder(container_lock_file(run, id));
}

}  // namespace gpucr::runtime
