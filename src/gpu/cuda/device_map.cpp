#include "gpu/cuda/device_map.hpp"

#include "util/strings.hpp"

#include <algorithm>
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

class Planner {
 public:
  explicit Planner(const MapInput& in) : in_(in) {}

  // `n` can take the place of `o`: the same chip (or the very GPU, which another driver may name
  // anew), and room for what the processes had on `o` (a GPU whose memory is unknown, 0, is given
  // the benefit of the doubt).
  bool fits(const GpuInfo& o, const GpuInfo& n) const {
    auto used = in_.used_bytes.find(o.uuid);
    std::uint64_t need = used == in_.used_bytes.end() ? 0 : used->second;
    return (n.name == o.name || n.uuid == o.uuid) && (n.memory_bytes == 0 || n.memory_bytes >= need);
  }

  const GpuInfo* old_gpu(const Uuid& u) const { return find(in_.old_gpus, u); }

  // Completes `chosen` into a full one-to-one map: same UUID first, then the lowest-index free
  // local GPU that fits; every local GPU must be used.
  Result<MapPlan> complete(Chosen chosen, std::set<Uuid> taken, const std::string& how) const {
    for (const auto& o : in_.old_gpus) {
      if (chosen.count(o.uuid)) continue;
      const GpuInfo* same = find(in_.local, o.uuid);
      if (same && !taken.count(same->uuid) && fits(o, *same)) {
        chosen[o.uuid] = same;
        taken.insert(same->uuid);
      }
    }
    for (const auto& o : in_.old_gpus) {
      if (chosen.count(o.uuid)) continue;
      for (const auto& l : in_.local) {
        if (!taken.count(l.uuid) && fits(o, l)) {
          chosen[o.uuid] = &l;
          taken.insert(l.uuid);
          break;
        }
      }
      if (!chosen.count(o.uuid)) {
        bool too_small = std::any_of(in_.local.begin(), in_.local.end(),
                                     [&](const GpuInfo& l) { return !taken.count(l.uuid) && l.name == o.name; });
        return fail(Error("--device-map can't be completed: no free GPU of chip '" + o.name + "' " +
                              (too_small ? "with enough memory (" + format_bytes(in_.used_bytes.at(o.uuid)) + ") " : "") +
                              "here for " + o.uuid.str() + " (the driver needs every GPU mapped one-to-one)",
                          Exit::usage));
      }
    }
    if (taken.size() != in_.local.size()) {
      return fail(Error("--device-map can't be completed: the checkpoint host had " + std::to_string(in_.old_gpus.size()) +
                            " GPU(s), this host has " + std::to_string(in_.local.size()) +
                            " (the driver needs every GPU mapped one-to-one)",
                        Exit::usage));
    }
    MapPlan plan;
    plan.how = how;
    for (const auto& o : in_.old_gpus) plan.pairs.push_back({o.uuid, chosen[o.uuid]->uuid});
    return plan;
  }

  Result<MapPlan> user_map(const std::string& text) const {
    Chosen chosen;
    std::set<Uuid> taken;
    for (const auto& item : split(text, ',')) {
      auto eq = item.find('=');
      if (eq == std::string::npos) {
        return fail(Error("--device-map: '" + item + "' is not OLD=NEW", Exit::usage));
      }
      const GpuInfo* o = GPUCR_TRY(resolve(in_.old_gpus, std::string(trim(item.substr(0, eq))), "old"));
      const GpuInfo* n = GPUCR_TRY(resolve(in_.local, std::string(trim(item.substr(eq + 1))), "new"));
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
      if (!fits(*o, *n)) {
        return fail(Error("--device-map: " + n->uuid.str() + " has " + format_bytes(n->memory_bytes) +
                              ", less than the " + format_bytes(in_.used_bytes.at(o->uuid)) +
                              " of device memory the checkpointed processes had on " + o->uuid.str(),
                          Exit::usage));
      }
      chosen[o->uuid] = n;
      taken.insert(n->uuid);
    }
    return complete(std::move(chosen), std::move(taken), "--device-map");
  }

  // Each needed GPU onto one of the allocated GPUs, the same UUID first.
  Result<MapPlan> allocated() const {
    std::set<Uuid> targets(in_.targets.begin(), in_.targets.end());
    bool identity = std::all_of(in_.needed.begin(), in_.needed.end(),
                                [&](const Uuid& u) { return targets.count(u) && find(in_.local, u); });
    if (identity) return MapPlan{{}, "identity"};
    Chosen chosen;
    std::set<Uuid> taken;
    auto pick = [&](const GpuInfo& o, bool same_uuid) {
      for (const auto& t : in_.targets) {
        const GpuInfo* l = find(in_.local, t);
        if (l && !taken.count(t) && (!same_uuid || t == o.uuid) && fits(o, *l)) {
          chosen[o.uuid] = l;
          taken.insert(t);
          return;
        }
      }
    };
    for (const auto& u : in_.needed) {
      if (const GpuInfo* o = old_gpu(u)) pick(*o, true);
    }
    for (const auto& u : in_.needed) {
      const GpuInfo* o = old_gpu(u);
      if (!o) return fail(Error("the checkpoint's CUDA processes used GPU " + u.str() + ", which its manifest does not list"));
      if (chosen.count(u)) continue;
      pick(*o, false);
      if (!chosen.count(u)) {
        std::vector<std::string> names;
        for (const auto& t : in_.targets) names.push_back(t.str());
        return fail(Error("the GPUs the restored container was given (" + in_.targets_source + ": " + join(names, ", ") +
                              ") have no free one of chip '" + o->name + "' with enough memory for GPU " + u.str() +
                              ", which the checkpointed processes used",
                          Exit::missing_dependency)
                        .with_hint("give the container as many GPUs of the checkpoint's chips as its processes used (" +
                                   std::to_string(in_.needed.size()) + ")"));
      }
    }
    return complete(std::move(chosen), std::move(taken), in_.targets_source);
  }

  // Every GPU the processes used is here or mapped: a manifest whose GPU list lacks one (written
  // by hand, or damaged) can't be completed into a map that reaches it.
  bool covers(const MapPlan& plan) const {
    return std::all_of(in_.needed.begin(), in_.needed.end(), [&](const Uuid& u) {
      return find(in_.local, u) || std::any_of(plan.pairs.begin(), plan.pairs.end(),
                                               [&](const GpuPair& p) { return p.old_gpu == u; });
    });
  }

  Result<MapPlan> missing() const {
    std::vector<std::string> missing;
    for (const auto& u : in_.needed) {
      if (!find(in_.local, u)) missing.push_back(u.str());
    }
    Error e("the checkpoint needs GPU(s) " + join(missing, ", ") + " that this host does not have",
            Exit::missing_dependency);
    if (auto full = complete({}, {}, kAutoMap); full && !in_.old_gpus.empty() && covers(*full)) {
      e.hint = "this host has the same GPUs under other UUIDs: restore with --device-map auto, which uses --device-map " +
               full->describe();
    } else {
      e.hint = "restore on a host with the same GPU chips (" + std::to_string(in_.old_gpus.size()) +
               " GPU(s) at checkpoint, " + std::to_string(in_.local.size()) + " here), or pass --device-map";
    }
    return fail(std::move(e));
  }

 private:
  const MapInput& in_;
};

}  // namespace

Result<MapPlan> plan_device_map(const MapInput& in) {
  Planner p(in);
  if (in.user_map && *in.user_map != kAutoMap) return p.user_map(*in.user_map);
  if (!in.targets.empty()) return p.allocated();
  bool all_here = std::all_of(in.needed.begin(), in.needed.end(), [&](const Uuid& u) { return find(in.local, u); });
  if (all_here) return MapPlan{{}, "identity"};
  if (in.user_map) {  // auto
    auto plan = p.complete({}, {}, kAutoMap);
    if (!plan) return fail(std::move(plan).error().with_exit(Exit::missing_dependency));
    if (!p.covers(*plan)) return p.missing();
    return plan;
  }
  return p.missing();
}

Result<MapPlan> plan_device_map(const std::vector<GpuInfo>& old_gpus, const std::vector<Uuid>& needed,
                                const std::vector<GpuInfo>& local, const std::optional<std::string>& user_map) {
  return plan_device_map(MapInput{old_gpus, needed, {}, local, user_map, {}, ""});
}

}  // namespace gpucr::cuda
