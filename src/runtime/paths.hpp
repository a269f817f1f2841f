// gpucr's per-container state in its run directory (common/run_dir.hpp; tmpfs, gone at reboot
// like the containers):
//
//   RUN_DIR/containers/               0700
//     <id>.lock                       flock(2) lock of one container's gpucr operations (lock.hpp)
//     <id>/                           0700, written by the prestart hook, removed by poststop
//       devices.json                  the container's GPU devices at create (core/container_gpus.hpp)
//
// Ids must pass check_container_id (container_id.hpp) before they name anything here.
#pragma once

#include "common/run_dir.hpp"

#include <filesystem>
#include <string>

namespace gpucr::runtime {

namespace fs = std::filesystem;

fs::path container_dir(const RunDir& run, const std::string& id);
fs::path container_lock_file(const RunDir& run, const std::string& id);

}  // namespace gpucr::runtime
