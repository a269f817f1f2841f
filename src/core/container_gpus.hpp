// A container's GPU devices: recorded at create by the prestart hook, put in the manifest at
// checkpoint, checked against the host at restore.
//
// RUN_DIR/containers/<id>/devices.json (runtime/paths.hpp), written by `gpucr hook prestart`:
//   {"id": "c1", "bundle": "/b", "created_unix_ms": 1700000000000,
//    "nvidia_visible_devices": "0,1",
//    "devices": [{"path": "/dev/nvidia0", "kind": "gpu", "type": "c", "major": 195, "minor": 0}]}
#pragma once

#include "common/run_dir.hpp"

#include "hooks/gpu_presence.hpp"
#include "runtime/bundle.hpp"
#include "util/file.hpp"
#include "manifest.pb.h"

#include <map>
#include <optional>
#include <vector>

namespace gpucr {

inline constexpr const char* kDevicesRecord = "devices.json";

Status write_devices_record(const RunDir& run, const std::string& id, const fs::path& bundle,
                            const runtime::BundleGpus& gpus);
// nullopt when there is no record (the hook is not installed, or the container has no GPU).
Result<std::optional<runtime::BundleGpus>> read_devices_record(const RunDir& run, const std::string& id);

// Removes RUN_DIR/containers/<id>/ and what is in it.
Status remove_container_records(const RunDir& run, const std::string& id);

// The container's GPU devices for the manifest: the create-time record when there is one, else
// BUNDLE/config.json; NVIDIA GPUs (char major 195) get the host GPU's UUID and model.
Result<std::vector<pb::GpuDevice>> container_gpu_devices(const RunDir& run, const std::string& id,
                                                         const fs::path& bundle, hooks::GpuPresence& gpus);

// Ok when this host has every GPU the checkpointed container used: by UUID when one was
// recorded (through `moved`, old UUID -> new, when the restore remaps GPUs), else by device
// number. The error (missing_dependency) names each missing GPU and what the host has.
Status check_gpus_present(const pb::Container& container, hooks::GpuPresence& gpus,
                          const std::map<std::string, std::string>& moved = {});

}  // namespace gpucr
