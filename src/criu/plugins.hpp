// What the inventory's `plugins` field demands of a restore on this host, and who handles it.
//
// CRIU names the GPU state an image holds after the plugin that wrote it: "cuda_plugin" (NVIDIA)
// and "amdgpu_plugin" (AMD). gpucr restores CUDA state itself (driver API in libcuda.so.1 or
// NVIDIA's cuda-checkpoint tool), so "cuda_plugin" is handled by gpucr; AMD state can only be
// restored inside criu (docs/FACTS.md §5), so "amdgpu_plugin" needs CRIU's amdgpu_plugin.so in criu's
// plugin directory. Names gpucr does not know are left to criu.
//
// The field's states (criu/inventory.hpp):
//   missing -> every handler is probed and used where available; nothing is required;
//   empty   -> no GPU handler is loaded, probed or required (a CPU-only host restores it);
//   listed  -> each name must have its handler here, else restore fails before criu runs
//              (Exit::missing_dependency, naming what is missing and how to get it).
// Stock criu >= 4.1 refuses an image that lists a plugin it has not loaded, so when gpucr
// handles a listed name itself, criu reads a view of the image directory whose inventory lists
// only the names criu handles (criu/image_view.hpp); the user's files are never changed.
#pragma once

#include "criu/inventory.hpp"
#include "criu/locate.hpp"

#include <optional>
#include <string_view>

namespace gpucr::criu {

inline constexpr const char* kCudaPlugin = "cuda_plugin";
inline constexpr const char* kAmdgpuPlugin = "amdgpu_plugin";
inline constexpr const char* kDefaultPluginDir = "/usr/lib/criu";

enum class Handler { gpucr, criu };
Handler handler_for(std::string_view plugin);
const char* to_string(Handler h);  // "gpucr", "criu"

struct Availability {
  bool available = false;
  std::string detail;  // what was found ("driver API in libcuda.so.1") or what is missing
  std::string hint;    // how to get it, when missing
};

// The GPU handler availability seam. Real: core/handler_probe.hpp (HostHandlerProbe). Fake:
// tests/unit/fake_handler_probe.hpp.
class HandlerProbe {
 public:
  virtual ~HandlerProbe() = default;
  // Whether this host can handle the state `plugin` names; `criu_plugin_dir` is where criu
  // loads its plugins from (plugin_dir()).
  virtual Availability probe(std::string_view plugin, const fs::path& criu_plugin_dir) const = 0;
};

struct PluginCheck {
  std::string name;
  Handler handler = Handler::criu;
  Availability availability;
};

// What one check means here: "gpucr restores the CUDA state itself (driver API in libcuda.so.1)",
// "missing: ...; install ...".
std::string describe(const PluginCheck& c);

struct PluginPlan {
  PluginsField field = PluginsField::missing;
  std::vector<std::string> listed;     // the names in the field
  std::vector<PluginCheck> checks;     // per listed name; per known handler when the field is missing
  bool gpu_handling = true;            // false for an empty field: no GPU handler loaded or required
  std::vector<std::string> for_criu;   // what the inventory criu reads must list
  bool needs_view = false;             // criu must read an inventory other than the image's
  fs::path plugin_dir;                 // criu's plugin directory that was probed

  std::vector<std::string> missing() const;  // listed names whose handler is not here
  bool handled_by_gpucr(std::string_view plugin) const;  // listed and handled by gpucr
  std::string meaning() const;         // one line: what a restore here does with the field
};

// Plans a restore of an image whose inventory is `inv` on this host. `criu_version`: the criu
// that will restore (nullopt: unknown, taken as >= 4.1). Never fails: require_handlers() does.
PluginPlan plan_plugins(const Inventory& inv, const HandlerProbe& probe, const fs::path& plugin_dir,
                        std::optional<Version> criu_version);

// Fails (Exit::missing_dependency) naming every listed handler missing here and how to get it.
Status require_handlers(const PluginPlan& plan, const fs::path& image_dir);

// criu's plugin directory as criu resolves it: -L/--libdir, else $CRIU_LIBS_DIR (its value is
// `criu_libs_dir`, null when unset), else /usr/lib/criu.
fs::path plugin_dir(const std::optional<fs::path>& libdir_flag, const char* criu_libs_dir);

}  // namespace gpucr::criu
