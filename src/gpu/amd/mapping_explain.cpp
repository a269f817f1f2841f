#include "gpu/amd/mapping_explain.hpp"

#include "gpu/amd/mapping_search.hpp"
#include "util/strings.hpp"

#include <algorithm>

namespace gpucr::amd {

namespace {

std::string ids(const std::vector<const Node*>& nodes) {
  std::vector<std::string> s;
  for (const Node* n : nodes) s.push_back(gpu_name(n->gpu_id));
  return join(s, " ");
}

std::string cpu_nodes(const Topology& t, const Node& g) {
  std::vector<std::string> s;
  for (const auto& l : g.io_links) {
    if (link_valid(t, l) && !t.node(l.node_to())->is_gpu()) s.push_back(std::to_string(l.node_to()));
  }
  return s.empty() ? "none" : "CPU node " + join(s, ",");
}

void count_rows(const Topology& src, const Topology& dst, std::vector<Mismatch>& out) {
  out.push_back({"-", "-", "gpu count", std::to_string(src.gpu_count()), std::to_string(dst.gpu_count()), "=="});
  for (const auto& h : dst.hidden) {
    out.push_back({"-", "node " + std::to_string(h.id), "hidden node", "", h.why,
                   "unreadable: hidden by the device cgroup?"});
  }
}

// For a GPU with no compatible local GPU: the properties that differ from the closest one.
void property_rows(const Node& s, const Topology& dst, const Checks& checks, std::vector<Mismatch>& out) {
  const Node* best = nullptr;
  std::vector<PropertyMismatch> best_diff;
  for (const Node* d : dst.gpus()) {
    auto diff = compare_gpus(s, *d, checks);
    if (!best || diff.size() < best_diff.size()) {
      best = d;
      best_diff = std::move(diff);
    }
  }
  for (const auto& p : best_diff) {
    out.push_back({describe_gpu(s), describe_gpu(*best), p.property, std::to_string(p.checkpointed),
                   std::to_string(p.local), p.rule});
  }
}

// Why `s` can't map onto `d` although their properties agree (checks each link on its own).
bool link_rows(const Topology& src, const Node& s, const Topology& dst, const Node& d, std::vector<Mismatch>& out) {
  size_t sv = valid_link_count(src, s), dv = valid_link_count(dst, d);
  if (sv > dv) {
    out.push_back({describe_gpu(s), describe_gpu(d), "valid io links", std::to_string(sv), std::to_string(dv), "<="});
    return true;
  }
  for (const auto& l : s.io_links) {
    if (!link_valid(src, l) || src.node(l.node_to())->is_gpu()) continue;
    bool any = std::any_of(d.io_links.begin(), d.io_links.end(),
                           [&](const Link& dl) { return link_can_replace(src, s, l, dst, d, dl); });
    if (!any) {
      out.push_back({describe_gpu(s), describe_gpu(d), "io link to CPU node " + std::to_string(l.node_to()),
                     l.type() == kLinkXgmi ? "XGMI" : "PCIe", "no link as good",
                     "same or better (XGMI > PCIe, two-way > one-way)"});
      return true;
    }
  }
  return false;
}

void hive_rows(const Topology& src, const Topology& dst, std::vector<Mismatch>& out) {
  auto sh = hive_nodes(src), dh = hive_nodes(dst);
  size_t largest = 0;
  for (const auto& h : dh) largest = std::max(largest, h.size());
  if (sh.size() > dh.size()) {
    out.push_back({"-", "-", "xgmi hives", std::to_string(sh.size()), std::to_string(dh.size()), "<="});
  }
  for (const auto& h : sh) {
    if (h.size() > largest) {
      out.push_back({"hive " + ids(h), "-", "xgmi hive size", std::to_string(h.size()),
                     "largest local hive: " + std::to_string(largest), "onto a hive at least as large"});
    }
  }
}

// NUMA: replay a mapping found without the NUMA check, pinning CPU nodes in GPU order, and
// report the GPUs whose CPU node can no longer be matched.
bool numa_rows(const Topology& src, const Topology& dst, const Checks& checks, std::vector<Mismatch>& out) {
  Checks loose = checks;
  loose.numa = false;
  Search s(src, dst, loose);
  if (!s.run()) return false;
  Search strict(src, dst, checks);
  size_t before = out.size();
  for (const auto& p : s.gpus()) {
    const Node& sn = *src.gpu(p.checkpointed);
    const Node& dn = *dst.gpu(p.local);
    if (!strict.map_device(sn, dn)) {
      std::string local = cpu_nodes(dst, dn);
      for (const auto& c : strict.cpus()) {
        if (local == "CPU node " + std::to_string(c.local)) {
          local += " (stands for checkpointed CPU node " + std::to_string(c.checkpointed) + ")";
        }
      }
      out.push_back({describe_gpu(sn), describe_gpu(dn), "numa", cpu_nodes(src, sn), local,
                     "CPU nodes map one-to-one (skip: numa)"});
    }
  }
  return out.size() > before;
}

}  // namespace

std::vector<Mismatch> explain(const Topology& src, const Topology& dst, const Checks& checks) {
  std::vector<Mismatch> out;
  if (src.gpu_count() != dst.gpu_count()) {
    count_rows(src, dst, out);
    return out;
  }
  hive_rows(src, dst, out);
  for (const Node* s : src.gpus()) {
    std::vector<const Node*> candidates;
    for (const Node* d : dst.gpus()) {
      if (compare_gpus(*s, *d, checks).empty()) candidates.push_back(d);
    }
    if (candidates.empty()) {
      property_rows(*s, dst, checks, out);
      continue;
    }
    bool placeable = false;
    std::vector<Mismatch> why;
    for (const Node* d : candidates) {
      if (!link_rows(src, *s, dst, *d, why)) placeable = true;
    }
    if (!placeable) out.push_back(why.front());
  }
  if (out.empty()) numa_rows(src, dst, checks, out);
  if (out.empty()) {
    out.push_back({"-", "-", "assignment", "", "", "no one-to-one mapping satisfies every GPU at once"});
  }
  return out;
}

}  // namespace gpucr::amd
