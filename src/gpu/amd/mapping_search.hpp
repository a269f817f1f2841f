// The backtracking search behind map_gpus() (mapping.hpp documents the rules). Internal to
// src/gpu/amd; mapping_explain.cpp reuses its per-GPU test.
#pragma once

#include "gpu/amd/mapping.hpp"

#include <optional>

namespace gpucr::amd {

// Whether local link `dst` can stand in for checkpointed link `src` (both valid).
bool link_can_replace(const Topology& st, const Node& sn, const Link& src, const Topology& dt, const Node& dn,
                      const Link& dst);

class Search {
 public:
  Search(const Topology& src, const Topology& dst, const Checks& checks) : src_(src), dst_(dst), checks_(checks) {}

  // The whole search; the mapping found is in gpus()/cpus().
  bool run();
  // Whether `s` can map onto `d` given the mapping so far; on success records the pair (and
  // any CPU nodes it pins).
  bool map_device(const Node& s, const Node& d);

  const std::vector<GpuPair>& gpus() const { return gpus_; }
  const std::vector<CpuPair>& cpus() const { return cpus_; }

 private:
  bool map_devices(std::vector<const Node*> srcs, std::vector<const Node*> dsts);
  bool match_hives(std::vector<std::vector<const Node*>> srcs, std::vector<std::vector<const Node*>> dsts);
  bool cpu_link_ok(const Node& s, const Link& l, const Node& d, std::vector<CpuPair>& pinned) const;
  std::optional<std::uint32_t> cpu_target(std::uint32_t src_cpu, const std::vector<CpuPair>& pinned) const;
  bool cpu_taken(std::uint32_t dst_cpu, const std::vector<CpuPair>& pinned) const;
  bool src_mapped(std::uint32_t gpu_id) const;
  bool dst_used(std::uint32_t gpu_id) const;
  void rollback(size_t gpus, size_t cpus);

  const Topology& src_;
  const Topology& dst_;
  const Checks& checks_;
  std::vector<GpuPair> gpus_;
  std::vector<CpuPair> cpus_;
};

// The hives of `t` as node lists.
std::vector<std::vector<const Node*>> hive_nodes(const Topology& t);

}  // namespace gpucr::amd
