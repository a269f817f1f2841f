// gpucr's per-container runtime state (tmpfs, gone at reboot like the containers):
//
//   RUN_DIR/                          /run/gpucr, or $GPUCR_RUN_DIR (absolute) when set; 0700
//     containers/                     0700
//       <id>.lock                     flock(2) lock of one container's gpucr operations (lock.hpp)
//       <id>/                         0700, written by the prestart hook, removed by poststop
//         devices.json                the container's GPU devices at create (core/container_gpus.hpp)
//
// Ids must pass check_container_id (container_id.hpp) before they name anything here.
#pragma once

#include "util/result.hpp"

#include <filesystem>
#include <string>

namespace gpucr::runtime {

namespace fs = std::filesystem;

fs::path run_dir();
fs::path containers_dir(const fs::path& run);
fs::path container_dir(const fs::path& run, const std::string& id);
fs::path container_lock_file(const fs::path& run, const std::string& id);

// Creates RUN_DIR and RUN_DIR/containers with mode 0700.
Status make_containers_dir(const fs::path& run);

}  // namespace gpucr::runtime
