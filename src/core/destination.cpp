#include "core/destination.hpp"

#include "core/cuda_restore.hpp"
#include "core/requirements.hpp"
#include "criu/inventory.hpp"
#include "util/strings.hpp"

#include <map>

namespace gpucr {

namespace {

void refuse(Verdict& v, Exit exit, std::string why) {
  if (v.refusals.empty()) v.exit = exit;
  v.refusals.push_back(std::move(why));
}

void judge_gpus(const pb::Requirements& r, const Destination& here, Verdict& v) {
  struct Model {
    int needed = 0;
    std::uint64_t most_used = 0;
    int here = 0;
    std::uint64_t largest_here = 0;
  };
  std::map<std::string, Model> models;
  for (const auto& g : r.gpus()) {
    auto& m = models[g.model()];
    ++m.needed;
    m.most_used = std::max(m.most_used, g.used_bytes());
  }
  for (const auto& g : here.gpus) {
    auto it = models.find(g.name);
    if (it == models.end()) continue;
    ++it->second.here;
    it->second.largest_here = std::max(it->second.largest_here, g.memory_bytes);
  }
  std::vector<std::string> have;
  for (const auto& g : here.gpus) have.push_back(g.name);
  std::string have_text = have.empty() ? "no NVIDIA GPU" : std::to_string(have.size()) + " GPU(s): " + join(have, ", ");
  for (const auto& [model, m] : models) {
    std::string name = model.empty() ? "(unrecorded model)" : model;
    if (m.here == 0) {
      refuse(v, Exit::missing_dependency,
             "the checkpoint's CUDA processes ran on " + std::to_string(m.needed) + " GPU(s) of model " + name +
                 "; this host has none of that model (it has " + have_text + ")");
    } else if (m.here < m.needed) {
      refuse(v, Exit::missing_dependency,
             "the checkpoint's CUDA processes ran on " + std::to_string(m.needed) + " GPUs of model " + name +
                 "; this host has " + std::to_string(m.here));
    } else if (m.largest_here != 0 && m.largest_here < m.most_used) {
      refuse(v, Exit::missing_dependency,
             "a CUDA process of the checkpoint had " + format_bytes(m.most_used) + " on one " + name +
                 "; the largest one here has " + format_bytes(m.largest_here));
    }
  }
}

}  // namespace

std::optional<criu::Version> parse_criu_version(std::string_view text) {
  auto parts = split(trim(text), '.');
  if (parts.size() < 2 || parts.size() > 3) return std::nullopt;
  criu::Version v;
  int* fields[] = {&v.major, &v.minor, &v.sublevel};
  for (size_t i = 0; i < parts.size(); ++i) {
    auto n = parse_int(parts[i], "criu version");
    if (!n || *n < 0 || *n > 1000) return std::nullopt;
    *fields[i] = static_cast<int>(*n);
  }
  return v;
}

Status Verdict::status(const std::string& what) const {
  if (ok()) return {};
  Error e(what + " can't be restored on this host: " + refusals.front(), exit);
  for (size_t i = 1; i < refusals.size(); ++i) e.details.push_back("also: " + refusals[i]);
  e.hint = "restore it on a host that has what the checkpoint needs (`gpucr inspect` shows it); nothing was "
           "extracted or started";
  return fail(std::move(e));
}

Verdict judge_destination(const pb::Manifest& m, const Destination& here, std::uint64_t staged_bytes) {
  Verdict v;
  pb::Requirements r = requirements_of(m);
  if (here.gpus_known) judge_gpus(r, here, v);
  std::uint64_t need = r.host_memory_bytes() + staged_bytes;
  if (here.mem_available && need > *here.mem_available) {
    refuse(v, Exit::not_permitted,
           "the restored processes need " + format_bytes(need) + " of host memory (their page images, with " +
               format_bytes(r.device_memory_bytes()) + " of GPU memory staged by the driver" +
               (staged_bytes ? ", and " + format_bytes(staged_bytes) + " for the images on tmpfs" : std::string()) +
               "); this host has " + format_bytes(*here.mem_available) + " available");
  }
  auto dumped = parse_criu_version(r.criu_version());
  if (dumped && here.criu &&
      std::make_pair(here.criu->major, here.criu->minor) < std::make_pair(dumped->major, dumped->minor)) {
    refuse(v, Exit::missing_dependency,
           "criu " + here.criu->str() + " here is older than criu " + r.criu_version() +
               ", which wrote the images (criu restores images of its own and older versions); install criu >= " +
               std::to_string(dumped->major) + "." + std::to_string(dumped->minor));
  }
  for (const auto& h : here.missing_handlers) refuse(v, Exit::missing_dependency, h);
  std::string driver_here = here.gpus.empty() ? "" : here.gpus.front().driver_version;
  if (!m.nvidia_driver_version().empty() && !driver_here.empty() && driver_here != m.nvidia_driver_version()) {
    v.notes.push_back("checkpointed with NVIDIA driver " + m.nvidia_driver_version() + "; this host runs " + driver_here);
  }
  return v;
}

Result<Destination> probe_destination(const Host& host, const pb::Manifest& m, const fs::path& criu_plugin_dir,
                                      bool gpus_and_handlers) {
  Destination d;
  if (auto mem = host.procs.mem_available()) d.mem_available = *mem;
  if (host.criu.binary().version.major > 0) d.criu = host.criu.binary().version;
  if (!gpus_and_handlers) return d;
  d.gpus_known = true;
  if (m.cuda_processes_size() > 0) d.gpus = GPUCR_TRY(host.gpus.gpus());
  pb::Requirements r = requirements_of(m);
  if (r.plugins_field() == "listed") {
    criu::Inventory inv;
    inv.entry.set_img_version(2);
    inv.set_plugins({r.plugins().begin(), r.plugins().end()});
    auto plan = criu::plan_plugins(inv, host.handlers, criu_plugin_dir, d.criu);
    for (const auto& c : plan.checks) {
      if (!c.availability.available) d.missing_handlers.push_back("the image's GPU state needs " + criu::describe(c));
    }
  }
  return d;
}

Status check_destination(const std::optional<pb::Manifest>& m, const Host& host) {
  if (!m) return {};
  auto here = GPUCR_TRY(probe_destination(host, *m, {}, /*gpus_and_handlers=*/false));
  auto v = judge_destination(*m, here);
  for (const auto& n : v.notes) host.progress.note(n);
  return v.status("the checkpoint");
}

Result<DestinationReport> assess_destination(const pb::Manifest& m, const Host& host, const fs::path& criu_plugin_dir,
                                             const std::optional<std::string>& device_map,
                                             const std::optional<GpuAllocation>& allocation, std::uint64_t staged_bytes) {
  DestinationReport d;
  auto here = GPUCR_TRY(probe_destination(host, m, criu_plugin_dir));
  d.verdict = judge_destination(m, here, staged_bytes);
  d.cuda = m.cuda_processes_size() > 0;
  if (!d.cuda) return d;
  std::vector<cuda::Uuid> targets;
  if (allocation) {
    auto t = resolve_allocation(*allocation, here.gpus);
    if (!t) {
      d.map_error = std::move(t).error();
      return d;
    }
    targets = *t;
  }
  auto plan = plan_manifest_gpus(m, here.gpus, device_map, targets, allocation ? allocation->source : "");
  if (plan) {
    d.map = *plan;
    return d;
  }
  d.map_error = std::move(plan).error();
  if (!device_map && targets.empty()) {
    if (auto a = plan_manifest_gpus(m, here.gpus, cuda::kAutoMap)) d.auto_map = *a;
  }
  return d;
}

nlohmann::json to_json(const DestinationReport& d) {
  nlohmann::json j{{"ok", d.verdict.ok() && !d.map_error}, {"refusals", d.verdict.refusals}, {"notes", d.verdict.notes}};
  if (!d.cuda) {
    j["gpu_map"] = nullptr;
    return j;
  }
  nlohmann::json map;
  if (d.map) map = {{"how", d.map->how}, {"map", d.map->describe()}};
  if (d.map_error) map = {{"error", d.map_error->what}, {"hint", d.map_error->hint}};
  if (d.auto_map) map["auto"] = d.auto_map->describe();
  j["gpu_map"] = map;
  return j;
}

std::string to_text(const DestinationReport& d) {
  std::string out = "this host        ";
  if (d.verdict.ok()) out += "can take it\n";
  else out += "can't take it: " + join(d.verdict.refusals, "; ") + "\n";
  for (const auto& n : d.verdict.notes) out += "  note: " + n + "\n";
  if (!d.cuda) return out;
  out += "GPU map          ";
  if (d.map && d.map->pairs.empty()) out += "none needed: the GPUs the CUDA processes used are here\n";
  else if (d.map) out += d.map->describe() + " (" + d.map->how + ")\n";
  else if (d.auto_map) out += "the GPUs are not here; with --device-map auto: " + d.auto_map->describe() + "\n";
  else out += "none possible: " + d.map_error->what + "\n";
  return out;
}

}  // namespace gpucr
