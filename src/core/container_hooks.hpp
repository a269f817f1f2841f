// What `gpucr hook prestart` and `gpucr hook poststop` do (cli/hook.cpp reads stdin and the
// parent runtime's command line, then calls these).
//
// prestart runs in two situations, told apart by the command line of the runtime that runs the
// hook (its parent process): `RUNTIME [globals] restore [options] ID` is a restore (runc runs
// prestart at CRIU's setup-namespaces stage), anything else (create, run) a create.
//   restore: when a gpucr restore holds the container's lock, gpucr orchestrates this restore
//            and has checked the GPUs itself (with its --device-map): nothing to do. Otherwise
//            the checkpoint's manifest (IMAGE_PATH/gpucr-manifest) names the GPUs: the GPU
//            UUIDs its CUDA processes used (asked through the GPU inventory: NVML, else
//            /proc/driver/nvidia) and the container's GPU devices must all be on this host, else
//            the hook fails and with it the restore, before any process is restored; when the
//            same chips are here under other UUIDs the error gives the exact --device-map.
//   create:  the container's GPU devices (bundle config.json) are recorded in
//            RUN_DIR/containers/<id>/devices.json for later checkpoints; nothing is written for
//            a container without GPU devices.
// poststop finishes what gpucr left of the container: the journals of its operations that
// nobody is finishing (gpucr and its guardian dead, the runtime command ended) are recovered
// (CUDA processes returned to their state, the freezer cgroup to its original state), then
// RUN_DIR/containers/<id>/ and the container's lock file are removed when no gpucr operation
// holds it (one may: runc runs poststop inside `runc checkpoint`).
#pragma once

#include "recovery/recover.hpp"
#include "common/run_dir.hpp"
#include "gpu/cuda/inventory.hpp"
#include "hooks/gpu_presence.hpp"
#include "hooks/oci_state.hpp"
#include "util/file.hpp"

#include <optional>
#include <string>
#include <vector>

namespace gpucr {

struct HookContext {
  hooks::OciState state;
  std::vector<std::string> parent_argv;  // /proc/PPID/cmdline of the runtime running the hook
  fs::path parent_cwd;                   // /proc/PPID/cwd: relative image paths are relative to it
  RunDir run;
};

// The image path when `parent_argv` is a restore of container `id`, else nullopt.
std::optional<fs::path> restore_image_of(const std::vector<std::string>& parent_argv, const fs::path& parent_cwd,
                                         const std::string& id);

// Each returns a one-line summary of what it did (logged at info level).
Result<std::string> hook_prestart(const HookContext& ctx, hooks::GpuPresence& gpus, cuda::GpuInventory& nvidia);
Result<std::string> hook_poststop(const HookContext& ctx, const recovery::Seams& seams);

}  // namespace gpucr
