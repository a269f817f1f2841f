// AMD GPUs as DRM render nodes, through libdrm and libdrm_amdgpu (for `gpucr check` and
// `gpucr inspect`): which /dev/dri/renderD<minor> belongs to which AMD GPU, and what it is.
#pragma once

#include "util/result.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace gpucr::amd {

struct RenderNode {
  std::string path;             // /dev/dri/renderD128
  std::uint32_t minor = 0;      // 128; the topology's drm_render_minor
  std::string pci_bus;          // "0000:03:00.0"
  std::uint16_t vendor_id = 0;  // 0x1002
  std::uint16_t device_id = 0;
  std::string driver;           // drmGetVersion: "amdgpu"
  std::string marketing_name;   // libdrm_amdgpu's name table; empty when unknown
  std::uint32_t family_id = 0;  // amdgpu_query_gpu_info
  std::string error;            // set when the node could not be opened or queried
};

inline constexpr std::uint16_t kAmdVendorId = 0x1002;

// Every PCI DRM device of vendor 0x1002 that has a render node. A machine without DRM devices
// (no /dev/dri) or without AMD GPUs gives an empty list, not an error. A node that can't be
// opened is still listed, with `error` set.
Result<std::vector<RenderNode>> amd_render_nodes();

}  // namespace gpucr::amd
