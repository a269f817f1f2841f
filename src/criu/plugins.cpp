#include "criu/plugins.hpp"

#include "util/strings.hpp"

#include <algorithm>
#include <cstdlib>

namespace gpucr::criu {

Handler handler_for(std::string_view plugin) { return plugin == kCudaPlugin ? Handler::gpucr : Handler::criu; }

const char* to_string(Handler h) { return h == Handler::gpucr ? "gpucr" : "criu"; }

fs::path plugin_dir(const std::optional<fs::path>& libdir_flag, const char* criu_libs_dir) {
  if (libdir_flag) return *libdir_flag;
  if (criu_libs_dir && *criu_libs_dir) return criu_libs_dir;
  return kDefaultPluginDir;
}

std::vector<std::string> PluginPlan::missing() const {
  std::vector<std::string> out;
  if (field != PluginsField::listed) return out;
  for (const auto& c : checks) {
    if (!c.availability.available) out.push_back(c.name);
  }
  return out;
}

bool PluginPlan::handled_by_gpucr(std::string_view plugin) const {
  if (handler_for(plugin) != Handler::gpucr || field == PluginsField::empty) return false;
  for (const auto& c : checks) {
    if (c.name != plugin) continue;
    return field == PluginsField::listed || c.availability.available;
  }
  return false;
}

std::string describe(const PluginCheck& c) {
  const auto& a = c.availability;
  if (!a.available) return "missing: " + a.detail + (a.hint.empty() ? "" : "; " + a.hint);
  if (c.name == kCudaPlugin) return "gpucr restores the CUDA state itself (" + a.detail + ")";
  if (c.name == kAmdgpuPlugin) return "criu's amdgpu_plugin restores the AMD state (" + a.detail + ")";
  return "left to criu (" + a.detail + ")";
}

std::string PluginPlan::meaning() const {
  switch (field) {
    case PluginsField::empty:
      return "no GPU state in the image: restored with GPU handling disabled (no GPU, driver or GPU tools needed)";
    case PluginsField::missing: {
      std::vector<std::string> found;
      for (const auto& c : checks) {
        if (c.availability.available) found.push_back(c.name);
      }
      return "written by criu < 4.1 (no field): every GPU handler is probed; available here: " +
             (found.empty() ? std::string("none") : join(found, ", "));
    }
    case PluginsField::listed: break;
  }
  auto miss = missing();
  if (!miss.empty()) return "needs " + join(listed, ", ") + ": NOT restorable on this host (missing " + join(miss, ", ") + ")";
  return "needs " + join(listed, ", ") + ": restorable on this host" +
         (needs_view ? (for_criu.empty() ? std::string(" (criu reads a view of the image whose inventory lists no plugin)")
                                         : " (criu reads a view of the image whose inventory lists only " +
                                               join(for_criu, ", ") + ")")
                     : "");
}

PluginPlan plan_plugins(const Inventory& inv, const HandlerProbe& probe, const fs::path& plugin_dir,
                        std::optional<Version> criu_version) {
  PluginPlan p;
  p.field = inv.plugins_field();
  p.plugin_dir = plugin_dir;
  if (p.field == PluginsField::empty) {
    p.gpu_handling = false;
    return p;
  }
  if (p.field == PluginsField::missing) {
    for (const char* name : {kCudaPlugin, kAmdgpuPlugin}) {
      p.checks.push_back({name, handler_for(name), probe.probe(name, plugin_dir)});
    }
    return p;
  }
  p.listed = inv.plugins();
  for (const auto& name : p.listed) {
    p.checks.push_back({name, handler_for(name), probe.probe(name, plugin_dir)});
    if (handler_for(name) == Handler::criu) p.for_criu.push_back(name);
  }
  bool criu_reads_field = !criu_version || *criu_version >= kPluginsField;
  p.needs_view = criu_reads_field && p.for_criu.size() != p.listed.size();
  return p;
}

Status require_handlers(const PluginPlan& plan, const fs::path& image_dir) {
  auto miss = plan.missing();
  if (miss.empty()) return {};
  Error e("cannot restore " + image_dir.string() + ": its inventory lists " + join(plan.listed, ", ") +
              " and this host has no handler for " + join(miss, ", "),
          Exit::missing_dependency);
  std::vector<std::string> hints;
  for (const auto& c : plan.checks) {
    if (c.availability.available) continue;
    e.details.push_back(c.name + ": " + c.availability.detail);
    if (!c.availability.hint.empty()) hints.push_back(c.name + ": " + c.availability.hint);
  }
  e.hint = join(hints, "; ");
  return fail(std::move(e));
}

}  // namespace gpucr::criu
