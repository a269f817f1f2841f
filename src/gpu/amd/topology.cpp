#include "gpu/amd/topology.hpp"

#include <cstdio>
#include <numeric>

namespace gpucr::amd {

static std::uint64_t get(const Props& p, const std::string& name) {
  auto it = p.find(name);
  return it == p.end() ? 0 : it->second;
}

std::uint32_t Link::type() const { return static_cast<std::uint32_t>(get(props, "type")); }
std::uint32_t Link::node_to() const { return static_cast<std::uint32_t>(get(props, "node_to")); }

std::uint64_t Node::prop(const std::string& name) const { return get(props, name); }

static const Bank* vram_bank(const Node& n) {
  for (const auto& b : n.mem_banks) {
    auto heap = get(b.props, "heap_type");
    if (heap == kHeapPublic || heap == kHeapPrivate) return &b;
  }
  return nullptr;
}

bool Node::vram_public() const {
  const Bank* b = vram_bank(*this);
  return b && get(b->props, "heap_type") == kHeapPublic;
}

std::uint64_t Node::vram_size() const {
  const Bank* b = vram_bank(*this);
  return b ? get(b->props, "size_in_bytes") : 0;
}

const Node* Topology::node(std::uint32_t id) const {
  for (const auto& n : nodes) {
    if (n.id == id) return &n;
  }
  return nullptr;
}

const Node* Topology::gpu(std::uint32_t gpu_id) const {
  for (const auto& n : nodes) {
    if (n.is_gpu() && n.gpu_id == gpu_id) return &n;
  }
  return nullptr;
}

std::vector<const Node*> Topology::gpus() const {
  std::vector<const Node*> out;
  for (const auto& n : nodes) {
    if (n.is_gpu()) out.push_back(&n);
  }
  return out;
}

bool link_valid(const Topology& t, const Link& l) {
  return (l.type() == kLinkPcie || l.type() == kLinkXgmi) && t.node(l.node_to()) != nullptr;
}

bool link_bidirectional(const Topology& t, const Node& from, const Link& l) {
  const Node* to = t.node(l.node_to());
  if (!to) return false;
  for (const auto& back : to->io_links) {
    if (back.node_to() == from.id && back.type() == l.type()) return true;
  }
  return false;
}

std::size_t valid_link_count(const Topology& t, const Node& n) {
  std::size_t c = 0;
  for (const auto& l : n.io_links) c += link_valid(t, l) ? 1 : 0;
  return c;
}

std::vector<std::vector<std::uint32_t>> xgmi_hives(const Topology& t) {
  // Union-find over node indexes, joined by bidirectional XGMI links between GPUs.
  std::vector<std::size_t> parent(t.nodes.size());
  std::iota(parent.begin(), parent.end(), 0);
  auto root = [&](std::size_t i) {
    while (parent[i] != i) i = parent[i] = parent[parent[i]];
    return i;
  };
  std::vector<bool> in_hive(t.nodes.size(), false);
  auto index_of = [&](std::uint32_t id) {
    for (std::size_t i = 0; i < t.nodes.size(); ++i) {
      if (t.nodes[i].id == id) return i;
    }
    return t.nodes.size();
  };
  for (std::size_t i = 0; i < t.nodes.size(); ++i) {
    const Node& n = t.nodes[i];
    if (!n.is_gpu()) continue;
    for (const auto& l : n.io_links) {
      if (l.type() != kLinkXgmi || !link_valid(t, l) || !link_bidirectional(t, n, l)) continue;
      std::size_t j = index_of(l.node_to());
      if (j == t.nodes.size() || !t.nodes[j].is_gpu()) continue;
      in_hive[i] = in_hive[j] = true;
      parent[root(i)] = root(j);
    }
  }
  std::vector<std::vector<std::uint32_t>> hives;
  std::vector<std::size_t> hive_root;
  for (std::size_t i = 0; i < t.nodes.size(); ++i) {
    if (!in_hive[i]) continue;
    std::size_t r = root(i), k = 0;
    while (k < hive_root.size() && hive_root[k] != r) ++k;
    if (k == hive_root.size()) {
      hive_root.push_back(r);
      hives.emplace_back();
    }
    hives[k].push_back(t.nodes[i].gpu_id);
  }
  return hives;
}

std::string gpu_name(std::uint32_t gpu_id) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%04x", gpu_id);
  return buf;
}

}  // namespace gpucr::amd
