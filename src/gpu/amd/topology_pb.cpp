#include "gpu/amd/topology_pb.hpp"
#include "util/strings.hpp"

#include <algorithm>

namespace gpucr::amd {

namespace {

void put(const Props& p, google::protobuf::Map<std::string, std::uint64_t>* out) {
  for (const auto& [k, v] : p) (*out)[k] = v;
}

Props get(const google::protobuf::Map<std::string, std::uint64_t>& in) {
  return Props(in.begin(), in.end());
}

}  // namespace

void to_pb(const Topology& t, pb::AmdTopology* out) {
  for (const auto& n : t.nodes) {
    auto* pn = out->add_nodes();
    pn->set_id(n.id);
    pn->set_gpu_id(n.gpu_id);
    pn->set_name(n.name);
    put(n.props, pn->mutable_properties());
    auto add = [](const std::vector<Bank>& from, auto* to) {
      for (const auto& b : from) {
        auto* pb = to->Add();
        pb->set_id(b.id);
        put(b.props, pb->mutable_properties());
      }
    };
    add(n.mem_banks, pn->mutable_mem_banks());
    add(n.caches, pn->mutable_caches());
    for (const auto& l : n.io_links) {
      auto* pl = pn->add_io_links();
      pl->set_id(l.id);
      put(l.props, pl->mutable_properties());
    }
  }
  for (const auto& h : t.hidden) {
    auto* ph = out->add_hidden();
    ph->set_id(h.id);
    ph->set_why(printable_utf8(h.why));  // proto3 string: UTF-8 only; the reason may quote a path
  }
}

Topology from_pb(const pb::AmdTopology& in) {
  Topology t;
  for (const auto& pn : in.nodes()) {
    Node n;
    n.id = pn.id();
    n.gpu_id = pn.gpu_id();
    n.name = pn.name();
    n.props = get(pn.properties());
    for (const auto& b : pn.mem_banks()) n.mem_banks.push_back(Bank{b.id(), get(b.properties())});
    for (const auto& b : pn.caches()) n.caches.push_back(Bank{b.id(), get(b.properties())});
    for (const auto& l : pn.io_links()) n.io_links.push_back(Link{l.id(), get(l.properties())});
    t.nodes.push_back(std::move(n));
  }
  for (const auto& h : in.hidden()) t.hidden.push_back({h.id(), h.why()});
  return t;
}

Topology from_kfd_image(const criu::CriuKfd& kfd) {
  Topology t;
  for (const auto& d : kfd.device_entries()) {
    Node n;
    n.id = d.node_id();
    n.gpu_id = d.gpu_id();
    if (!n.is_gpu()) {
      n.props["cpu_cores_count"] = d.cpu_cores_count();
    } else {
      // Every scalar field of the entry, under its sysfs property name.
      const auto* desc = d.GetDescriptor();
      const auto* refl = d.GetReflection();
      for (int i = 0; i < desc->field_count(); ++i) {
        const auto* f = desc->field(i);
        if (f->is_repeated() || f->name() == "node_id" || f->name() == "gpu_id") continue;
        n.props[f->name()] = f->cpp_type() == google::protobuf::FieldDescriptor::CPPTYPE_UINT64
                                 ? refl->GetUInt64(d, f)
                                 : refl->GetUInt32(d, f);
      }
      std::uint32_t heap = d.vram_public() ? kHeapPublic : kHeapPrivate;
      n.mem_banks.push_back(Bank{0, {{"heap_type", heap}, {"size_in_bytes", d.vram_size()}}});
      n.props.erase("vram_public");
      n.props.erase("vram_size");
    }
    std::uint32_t link_id = 0;
    for (const auto& l : d.iolinks()) {
      n.io_links.push_back(Link{link_id++, {{"type", l.type()}, {"node_from", n.id}, {"node_to", l.node_to_id()}}});
    }
    t.nodes.push_back(std::move(n));
  }
  std::sort(t.nodes.begin(), t.nodes.end(), [](const Node& a, const Node& b) { return a.id < b.id; });
  return t;
}

}  // namespace gpucr::amd
