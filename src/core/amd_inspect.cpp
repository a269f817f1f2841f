#include "core/amd_inspect.hpp"

#include "util/strings.hpp"

#include <sstream>

namespace gpucr {

Result<AmdInspect> inspect_amd(const fs::path& dir, const std::optional<pb::Manifest>& manifest, const AmdHost* host,
                               const amd::Checks& checks) {
  AmdInspect a;
  a.image = GPUCR_TRY(read_amd_image(dir, manifest));
  if (!a.image.needed) return a;
  if (manifest && manifest->has_amd()) a.record = manifest->amd();
  if (!a.image.topology) {
    a.local_note = "the image records no GPU topology";
    return a;
  }
  if (!host) {
    a.local_note = "no AMD support";
    return a;
  }
  auto local = amd::read_topology(host->files, host->topology_root);
  if (!local) {
    a.local_note = "cannot read this host's KFD topology: " + local.error().what;
    return a;
  }
  a.local_known = true;
  if (local->nodes.empty() && local->hidden.empty()) a.local_note = "this host has no KFD topology (no AMD GPUs)";
  a.mapping = map_onto_host(*a.image.topology, *local, checks, *host);
  return a;
}

namespace {

std::string link_list(const amd::Topology& t, const amd::Node& n) {
  std::vector<std::string> s;
  for (const auto& l : n.io_links) {
    std::string type = l.type() == amd::kLinkXgmi ? "XGMI" : l.type() == amd::kLinkPcie ? "PCIe" : "type " + std::to_string(l.type());
    s.push_back("node " + std::to_string(l.node_to()) + " " + type + (amd::link_valid(t, l) ? "" : " (not visible)"));
  }
  return s.empty() ? "none" : join(s, ", ");
}

nlohmann::json props_json(const amd::Props& p) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [k, v] : p) j[k] = v;
  return j;
}

nlohmann::json topology_json(const amd::Topology& t) {
  nlohmann::json nodes = nlohmann::json::array();
  for (const auto& n : t.nodes) {
    nlohmann::json links = nlohmann::json::array(), banks = nlohmann::json::array();
    for (const auto& l : n.io_links) links.push_back(props_json(l.props));
    for (const auto& b : n.mem_banks) banks.push_back(props_json(b.props));
    nodes.push_back({{"id", n.id}, {"gpu_id", n.gpu_id}, {"name", n.name}, {"properties", props_json(n.props)},
                     {"mem_banks", banks}, {"io_links", links}, {"caches", n.caches.size()},
                     {"vram_size", n.vram_size()}, {"vram_public", n.vram_public()}});
  }
  nlohmann::json hidden = nlohmann::json::array();
  for (const auto& h : t.hidden) hidden.push_back({{"id", h.id}, {"why", h.why}});
  return {{"nodes", nodes}, {"hidden", hidden}, {"xgmi_hives", amd::xgmi_hives(t)}};
}

nlohmann::json mapping_json(const AmdInspect& a) {
  nlohmann::json j{{"ok", a.local_known && a.mapping.ok}, {"note", a.local_note}};
  auto& gpus = j["gpus"] = nlohmann::json::array();
  for (const auto& p : a.mapping.gpus) gpus.push_back({{"checkpointed", p.checkpointed}, {"local", p.local}});
  auto& cpus = j["cpu_nodes"] = nlohmann::json::array();
  for (const auto& p : a.mapping.cpus) cpus.push_back({{"checkpointed", p.checkpointed}, {"local", p.local}});
  auto& rows = j["mismatches"] = nlohmann::json::array();
  for (const auto& m : a.mapping.mismatches) {
    rows.push_back({{"checkpointed", m.checkpointed}, {"local", m.local}, {"property", m.property},
                    {"checkpointed_value", m.checkpointed_value}, {"local_value", m.local_value}, {"rule", m.rule}});
  }
  return j;
}

}  // namespace

nlohmann::json to_json(const AmdInspect& a) {
  if (!a.image.needed) return nullptr;
  nlohmann::json j;
  j["topology_source"] = a.image.topology_source;
  j["topology"] = a.image.topology ? topology_json(*a.image.topology) : nlohmann::json(nullptr);
  auto& bufs = j["buffers"] = nlohmann::json::array();
  for (const auto& b : a.image.buffers) {
    bufs.push_back({{"pid", b.pid}, {"gpu_id", b.gpu_id}, {"count", b.count}, {"total_bytes", b.total_bytes},
                    {"largest_bytes", b.largest_bytes}});
  }
  auto& procs = j["processes"] = nlohmann::json::array();
  if (a.record) {
    for (const auto& p : a.record->processes()) {
      procs.push_back({{"pid", p.pid()}, {"kfd_fds", std::vector<int>(p.kfd_fds().begin(), p.kfd_fds().end())},
                       {"render_minors", std::vector<std::uint32_t>(p.render_minors().begin(), p.render_minors().end())}});
    }
    j["plugin_path"] = a.record->plugin_path();
    j["kfd_version"] = std::to_string(a.record->kfd_major()) + "." + std::to_string(a.record->kfd_minor());
    j["criu_plugins"] = std::vector<std::string>(a.record->criu_plugins().begin(), a.record->criu_plugins().end());
  }
  j["this_host"] = mapping_json(a);
  return j;
}

std::string to_text(const AmdInspect& a) {
  if (!a.image.needed) return "";
  std::ostringstream o;
  o << "amd              ";
  if (!a.image.topology) {
    o << "AMD state, no topology recorded\n";
  } else {
    const auto& t = *a.image.topology;
    o << t.gpu_count() << " GPUs recorded (" << a.image.topology_source << ")";
    if (a.record) o << ", KFD " << a.record->kfd_major() << "." << a.record->kfd_minor() << ", plugin " << a.record->plugin_path();
    o << "\n";
    for (const auto& n : t.nodes) {
      o << "  node " << n.id << "  ";
      if (!n.is_gpu()) {
        o << "CPU  cores " << n.prop("cpu_cores_count");
      } else {
        o << "GPU " << amd::gpu_name(n.gpu_id) << " " << n.name << "  device 0x" << std::hex << n.prop("device_id")
          << std::dec << "  vram " << format_bytes(n.vram_size()) << (n.vram_public() ? " public" : " private")
          << "  fw " << n.prop("fw_version") << "  sdma_fw " << n.prop("sdma_fw_version");
        if (n.prop("hive_id")) o << "  hive 0x" << std::hex << n.prop("hive_id") << std::dec;
      }
      o << "\n        links: " << link_list(t, n) << "\n";
    }
    for (const auto& hive : amd::xgmi_hives(t)) {
      std::vector<std::string> ids;
      for (auto id : hive) ids.push_back(amd::gpu_name(id));
      o << "  xgmi hive: " << join(ids, " ") << "\n";
    }
  }
  if (a.record) {
    for (const auto& p : a.record->processes()) {
      o << "  process " << p.pid() << ": " << p.kfd_fds_size() << " /dev/kfd fds, " << p.render_minors_size()
        << " render nodes\n";
    }
  }
  for (const auto& b : a.image.buffers) {
    o << "  buffers pid " << b.pid << " on " << amd::gpu_name(b.gpu_id) << ": " << b.count << ", "
      << format_bytes(b.total_bytes) << ", largest " << format_bytes(b.largest_bytes) << "\n";
  }
  o << "on this host     ";
  if (!a.local_known) {
    o << "no mapping: " << a.local_note << "\n";
  } else if (a.mapping.ok) {
    std::vector<std::string> pairs;
    for (const auto& p : a.mapping.gpus) pairs.push_back(amd::gpu_name(p.checkpointed) + " -> " + amd::gpu_name(p.local));
    o << "restore would map GPU " << join(pairs, ", ") << "\n";
  } else {
    o << "restore would fail: the GPUs don't map" << (a.local_note.empty() ? "" : " (" + a.local_note + ")") << "\n";
    for (const auto& line : amd::mismatch_table(a.mapping.mismatches)) o << "  " << line << "\n";
  }
  return o.str();
}

}  // namespace gpucr
