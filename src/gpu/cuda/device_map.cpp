#include "gpu/cuda/device_map.hpp"

#include "util/strings.hpp"

#include <algorithm>
#include <map>
#include <set>

namespace gpucr::cuda {

std::string MapPlan::describe() const {
  std::vector<std::string> parts;
  for (const auto& p : pairs) parts.push_back(p.old_gpu.str() + "=" + p.new_gpu.str());
  return join(parts, ",");
}

namespace {

const GpuInfo* find(const std::vector<GpuInfo>& gpus, const Uuid& u) {
  for (const auto& g : gpus) {
    if (g.uuid == u) return &g;
  }
  return nullptr;
}

// A --device-map side: a UUID or an index into `gpus`.
Result<const GpuInfo*> resolve(const std::vector<GpuInfo>& gpus, const std::string& text, const char* side) {
  if (!text.empty() && std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    size_t i = text.size() > 6 ? gpus.size() : std::stoul(text);  // no std::out_of_range on "99999999999"
    if (i >= gpus.size()) {
      return fail(Error("--device-map: " + std::string(side) + " GPU index " + text + " does not exist (" +
                            std::to_string(gpus.size()) + " GPUs)",
                        Exit::usage));
    }
    return &gpus[i];
  }
  Uuid u = GPUCR_TRY(parse_uuid(text));
  const GpuInfo* g = find(gpus, u);
  if (!g) {
    return fail(Error(std::string("--device-map: ") + side + " GPU " + text + " is not " +
                          (std::string(side) == "old" ? "a GPU of the checkpoint host" : "a GPU of this host"),
                      Exit::usage));
  }
  return g;
}

using Chosen = std::map<Uuid, const GpuInfo*>;  // old uuid -> local GPU

// Completes `chosen` into a full one-to-one map: same UUID first, then the lowest-index free
// local GPU of the same chip; every local GPU must be used.
Result<MapPlan> complete(const std::vector<GpuInfo>& old_gpus, const std::vector<GpuInfo>& local, Chosen chosen,
                         std::set<Uuid> taken) {
  for (const auto& o : old_gpus) {
    if (chosen.count(o.uuid)) continue;
    const GpuInfo* same = find(local, o.uuid);
    if (same && !taken.count(same->uuid)) {
      chosen[o.uuid] = same;
      taken.insert(same->uuid);
    }
  }
  for (const auto& o : old_gpus) {
    if (chosen.count(o.uuid)) continue;
    for (const auto& l : local) {
      if (!taken.count(l.uuid) && l.name == o.name) {
        chosen[o.uuid] = &l;
        taken.insert(l.uuid);
        break;
      }
    }
    if (!chosen.count(o.uuid)) {
      return fail(Error("--device-map can't be completed: no free GPU of chip '" + o.name + "' here for " + o.uuid.str() +
                            " (the driver needs every GPU mapped one-to-one)",
                        Exit::usage));
    }
  }
  if (taken.size() != local.size()) {
    return fail(Error("--device-map can't be completed: the checkpoint host had " + std::to_string(old_gpus.size()) +
                          " GPU(s), this host has " + std::to_string(local.size()) +
                          " (the driver needs every GPU mapped one-to-one)",
                      Exit::usage));
  }
  MapPlan plan;
  for (const auto& o : old_gpus) plan.pairs.push_back({o.uuid, chosen[o.uuid]->uuid});
  return plan;
}

}  // namespace

Result<MapPlan> plan_device_map(const std::vector<GpuInfo>& old_gpus, const std::vector<Uuid>& needed,
                                const std::vector<GpuInfo>& local, const std::optional<std::string>& user_map) {
  Chosen chosen;
  std::set<Uuid> taken;
  if (user_map) {
    for (const auto& item : split(*user_map, ',')) {
      auto eq = item.find('=');
      if (eq == std::string::npos) {
        return fail(Error("--device-map: '" + item + "' is not OLD=NEW", Exit::usage));
      }
      const GpuInfo* o = GPUCR_TRY(resolve(old_gpus, std::string(trim(item.substr(0, eq))), "old"));
      const GpuInfo* n = GPUCR_TRY(resolve(local, std::string(trim(item.substr(eq + 1))), "new"));
      if (chosen.count(o->uuid)) return fail(Error("--device-map maps " + o->uuid.str() + " twice", Exit::usage));
      if (taken.count(n->uuid)) {
        return fail(Error("--device-map maps two checkpointed GPUs onto " + n->uuid.str() +
                              "; the driver needs a one-to-one map",
                          Exit::usage));
      }
      if (o->name != n->name && o->uuid != n->uuid) {  // the same GPU may be named anew by another driver
        return fail(Error("--device-map: " + o->uuid.str() + " (" + o->name + ") can't move to " + n->uuid.str() +
                              " (" + n->name + "): restore needs a GPU of the same chip",
                          Exit::usage));
      }
      chosen[o->uuid] = n;
      taken.insert(n->uuid);
    }
  } else {
    bool all_here = std::all_of(needed.begin(), needed.end(), [&](const Uuid& u) { return find(local, u); });
    if (all_here) return MapPlan{};
    std::vector<std::string> missing;
    for (const auto& u : needed) {
      if (!find(local, u)) missing.push_back(u.str());
    }
    Error e("the checkpoint needs GPU(s) " + join(missing, ", ") + " that this host does not have",
            Exit::missing_dependency);
    if (auto full = complete(old_gpus, local, {}, {}); full && !old_gpus.empty()) {
      e.hint = "this host has the same GPUs under other UUIDs: restore with --device-map " + full->describe();
    } else {
      e.hint = "restore on a host with the same GPU chips (" + std::to_string(old_gpus.size()) +
               " GPU(s) at checkpoint, " + std::to_string(local.size()) + " here), or pass --device-map";
    }
    return fail(std::move(e));
  }
  return complete(old_gpus, local, std::move(chosen), std::move(taken));
}

}  // namespace gpucr::cuda
