#include "gpu/amd/mapping_search.hpp"

#include <algorithm>

namespace gpucr::amd {

bool link_can_replace(const Topology& st, const Node& sn, const Link& src, const Topology& dt, const Node& dn,
                      const Link& dst) {
  if (!link_valid(dt, dst)) return false;
  if (st.node(src.node_to())->is_gpu() != dt.node(dst.node_to())->is_gpu()) return false;
  if (src.type() == kLinkXgmi && dst.type() == kLinkPcie) return false;
  if (link_bidirectional(st, sn, src) && !link_bidirectional(dt, dn, dst)) return false;
  return true;
}

std::vector<std::vector<const Node*>> hive_nodes(const Topology& t) {
  std::vector<std::vector<const Node*>> out;
  for (const auto& hive : xgmi_hives(t)) {
    out.emplace_back();
    for (auto id : hive) out.back().push_back(t.gpu(id));
  }
  return out;
}

std::optional<std::uint32_t> Search::cpu_target(std::uint32_t src_cpu, const std::vector<CpuPair>& pinned) const {
  for (const auto* list : {&cpus_, &pinned}) {
    for (const auto& p : *list) {
      if (p.checkpointed == src_cpu) return p.local;
    }
  }
  return std::nullopt;
}

bool Search::cpu_taken(std::uint32_t dst_cpu, const std::vector<CpuPair>& pinned) const {
  for (const auto* list : {&cpus_, &pinned}) {
    for (const auto& p : *list) {
      if (p.local == dst_cpu) return true;
    }
  }
  return false;
}

bool Search::cpu_link_ok(const Node& s, const Link& l, const Node& d, std::vector<CpuPair>& pinned) const {
  if (!checks_.numa) {
    return std::any_of(d.io_links.begin(), d.io_links.end(),
                       [&](const Link& dl) { return link_can_replace(src_, s, l, dst_, d, dl); });
  }
  if (auto target = cpu_target(l.node_to(), pinned)) {
    for (const auto& dl : d.io_links) {  // the link to the CPU node already chosen must do
      if (dl.node_to() == *target && dl.type() == l.type()) return link_can_replace(src_, s, l, dst_, d, dl);
    }
    return false;
  }
  for (const auto& dl : d.io_links) {
    if (link_can_replace(src_, s, l, dst_, d, dl) && !cpu_taken(dl.node_to(), pinned)) {
      pinned.push_back({l.node_to(), dl.node_to()});
      return true;
    }
  }
  return false;
}

bool Search::map_device(const Node& s, const Node& d) {
  if (!compare_gpus(s, d, checks_).empty()) return false;
  if (valid_link_count(src_, s) > valid_link_count(dst_, d)) return false;
  std::vector<CpuPair> pinned;
  for (const auto& l : s.io_links) {
    if (!link_valid(src_, l) || src_.node(l.node_to())->is_gpu()) continue;
    if (!cpu_link_ok(s, l, d, pinned)) return false;
  }
  gpus_.push_back({s.gpu_id, d.gpu_id});
  cpus_.insert(cpus_.end(), pinned.begin(), pinned.end());
  return true;
}

void Search::rollback(size_t gpus, size_t cpus) {
  gpus_.resize(gpus);
  cpus_.resize(cpus);
}

bool Search::map_devices(std::vector<const Node*> srcs, std::vector<const Node*> dsts) {
  if (srcs.empty()) return true;
  const Node* s = srcs.front();
  srcs.erase(srcs.begin());
  for (size_t i = 0; i < dsts.size(); ++i) {
    size_t g = gpus_.size(), c = cpus_.size();
    if (!map_device(*s, *dsts[i])) continue;
    auto rest = dsts;
    rest.erase(rest.begin() + static_cast<std::ptrdiff_t>(i));
    if (map_devices(srcs, rest)) return true;
    rollback(g, c);
  }
  return false;
}

bool Search::match_hives(std::vector<std::vector<const Node*>> srcs, std::vector<std::vector<const Node*>> dsts) {
  if (srcs.empty()) return true;
  auto first = srcs.front();
  srcs.erase(srcs.begin());
  for (size_t i = 0; i < dsts.size(); ++i) {
    if (first.size() > dsts[i].size()) continue;
    size_t g = gpus_.size(), c = cpus_.size();
    if (!map_devices(first, dsts[i])) continue;
    auto rest = dsts;
    rest.erase(rest.begin() + static_cast<std::ptrdiff_t>(i));
    if (match_hives(srcs, rest)) return true;
    rollback(g, c);
  }
  return false;
}

bool Search::src_mapped(std::uint32_t gpu_id) const {
  return std::any_of(gpus_.begin(), gpus_.end(), [&](const GpuPair& p) { return p.checkpointed == gpu_id; });
}

bool Search::dst_used(std::uint32_t gpu_id) const {
  return std::any_of(gpus_.begin(), gpus_.end(), [&](const GpuPair& p) { return p.local == gpu_id; });
}

bool Search::run() {
  gpus_.clear();
  cpus_.clear();
  if (src_.gpu_count() != dst_.gpu_count()) return false;
  auto src_hives = hive_nodes(src_), dst_hives = hive_nodes(dst_);
  if (src_hives.size() > dst_hives.size()) return false;
  if (!match_hives(src_hives, dst_hives)) return false;
  // The remaining GPUs, from the highest node down on both sides (the plugin's list order).
  std::vector<const Node*> srcs, dsts;
  for (const Node* n : src_.gpus()) {
    if (!src_mapped(n->gpu_id)) srcs.insert(srcs.begin(), n);
  }
  for (const Node* n : dst_.gpus()) {
    if (!dst_used(n->gpu_id)) dsts.insert(dsts.begin(), n);
  }
  return map_devices(srcs, dsts);
}

}  // namespace gpucr::amd
