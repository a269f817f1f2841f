// The KFD topology: the CPU and GPU nodes the amdgpu driver exposes in sysfs, as CRIU's amdgpu
// plugin sees them when it checkpoints and when it maps GPUs on restore.
//
// Layout read (root = /sys/class/kfd/kfd/topology; see topology_read.cpp):
//   nodes/N/gpu_id                   "%u\n"; 0 for a CPU node
//   nodes/N/name                     "%s\n" (e.g. "gfx90a"; empty for CPU nodes)
//   nodes/N/properties               one "name value\n" line per property, value decimal u32/u64
//   nodes/N/mem_banks/M/properties   heap_type (1 FB public, 2 FB private), size_in_bytes, ...
//   nodes/N/io_links/L/properties    type (2 PCIe, 11 XGMI), node_from, node_to, weight, ...
//   nodes/N/caches/C/properties      level, size, type, ... ("sibling_map 1,0,..." is skipped)
// A GPU hidden by the device cgroup keeps its directory, but reading its gpu_id (and its other
// files) fails with EPERM; like the plugin, such a node is left out (recorded in `hidden`), and
// links pointing at it are not valid.
#pragma once

#include "util/result.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace gpucr::amd {

using Props = std::map<std::string, std::uint64_t>;

// io_links "type" values the plugin knows (CRAT_IOLINK_TYPE_*).
inline constexpr std::uint32_t kLinkPcie = 2;
inline constexpr std::uint32_t kLinkXgmi = 11;
// mem_banks "heap_type" values of device memory (HSA_HEAPTYPE_FRAME_BUFFER_*).
inline constexpr std::uint32_t kHeapPublic = 1;
inline constexpr std::uint32_t kHeapPrivate = 2;

struct Bank {
  std::uint32_t id = 0;
  Props props;
};

struct Link {
  std::uint32_t id = 0;
  Props props;
  std::uint32_t type() const;
  std::uint32_t node_to() const;
};

struct Node {
  std::uint32_t id = 0;       // the N of nodes/N
  std::uint32_t gpu_id = 0;   // 0: CPU node
  std::string name;
  Props props;
  std::vector<Bank> mem_banks;
  std::vector<Link> io_links;
  std::vector<Bank> caches;

  bool is_gpu() const { return gpu_id != 0; }
  std::uint64_t prop(const std::string& name) const;  // 0 when absent
  // Device memory as the plugin reads it: the first FB bank (public or private).
  bool vram_public() const;
  std::uint64_t vram_size() const;
  std::uint32_t render_minor() const { return static_cast<std::uint32_t>(prop("drm_render_minor")); }
};

struct HiddenNode {
  std::uint32_t id = 0;
  std::string why;            // e.g. "cannot open .../gpu_id: Operation not permitted"
};

struct Topology {
  std::vector<Node> nodes;    // in node id order
  std::vector<HiddenNode> hidden;

  const Node* node(std::uint32_t id) const;
  const Node* gpu(std::uint32_t gpu_id) const;
  std::vector<const Node*> gpus() const;
  std::size_t gpu_count() const { return gpus().size(); }
};

// A link counts when it is PCIe or XGMI and its far node is visible (not hidden).
bool link_valid(const Topology& t, const Link& l);
// True when the far node has a link of the same type back to `from`.
bool link_bidirectional(const Topology& t, const Node& from, const Link& l);
std::size_t valid_link_count(const Topology& t, const Node& n);

// XGMI hives: GPUs joined by bidirectional XGMI links (connected groups), each listed by
// gpu_id in node order; hives are ordered by their first node.
std::vector<std::vector<std::uint32_t>> xgmi_hives(const Topology& t);

// "0x1a2b" (gpu ids are shown in hex, as the plugin logs them).
std::string gpu_name(std::uint32_t gpu_id);

}  // namespace gpucr::amd
