// The GPU devices an OCI bundle gives its container, read from BUNDLE/config.json:
//   linux.devices[]: {"path": "/dev/nvidia0", "type": "c", "major": 195, "minor": 0, ...}
//   mounts[]:        {"destination": "/dev/nvidia0", "source": "/dev/nvidia0", "type": "bind"}
//                    (rootless engines bind-mount devices; major/minor come from the host node)
//   process.env[]:   "NVIDIA_VISIBLE_DEVICES=..." (NVIDIA's legacy hook adds devices itself)
//   annotations:     {"cdi.k8s.io/<name>": "nvidia.com/gpu=GPU-...,nvidia.com/gpu=1"} (CDI devices
//                    a CRI runtime was asked for; comma-separated fully qualified names)
// A device is a GPU device when its path in the container is /dev/nvidiaN, /dev/dri/cardN or
// /dev/dri/renderDN ("gpu"), or /dev/nvidiactl, /dev/nvidia-uvm*, /dev/nvidia-modeset,
// /dev/nvidia-caps/* or /dev/kfd ("control": shared by all GPUs of a driver).
#pragma once

#include "util/result.hpp"

#include <filesystem>
#include <string>
#include <vector>

namespace gpucr::runtime {

struct DeviceNode {
  std::string path;      // in the container
  char type = 'c';       // 'c' or 'b'
  unsigned major = 0;
  unsigned minor = 0;
  std::string kind;      // "gpu" or "control"
};

struct BundleGpus {
  std::vector<DeviceNode> devices;
  std::string nvidia_visible_devices;  // empty when unset
  std::vector<std::string> cdi_devices;  // "vendor.com/class=name", from cdi.k8s.io/* annotations
  bool any() const { return !devices.empty() || !cdi_devices.empty() ||
                            (!nvidia_visible_devices.empty() && nvidia_visible_devices != "none" &&
                             nvidia_visible_devices != "void"); }
};

// "gpu", "control", or "" for a path that is not a GPU device.
std::string gpu_device_kind(std::string_view container_path);

// Parses config.json text; malformed JSON is an error, entries of unexpected shape are skipped.
Result<BundleGpus> parse_bundle_gpus(std::string_view config_json, const std::string& what);
Result<BundleGpus> read_bundle_gpus(const std::filesystem::path& bundle);

}  // namespace gpucr::runtime
