// CRIU plugins: finding them, and the private plugin directory gpucr runs criu with.
//
// criu loads every *.so in its plugin directory (--libdir DIR; without it $CRIU_LIBS_DIR, else
// its compiled-in default, /usr/lib/criu/ for distribution packages) and runs, per hook, only
// the first plugin that handles it. So gpucr always passes --libdir with a directory of its own
// holding exactly the plugins an image needs (symlinks to the real files), and nothing else
// installed can take part: an empty directory when no plugin is needed.
//
// Where a plugin is looked for (first hit wins), unless a directory is given explicitly:
//   $CRIU_LIBS_DIR, criu's own default (parsed from `criu --help`), then kUsualPluginDirs.
#pragma once

#include "util/result.hpp"

#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace gpucr::criu {

namespace fs = std::filesystem;

inline const std::vector<fs::path> kUsualPluginDirs = {
    "/usr/lib/criu",   "/usr/local/lib/criu", "/usr/lib64/criu", "/usr/lib/x86_64-linux-gnu/criu",
    "/usr/lib/aarch64-linux-gnu/criu", "/usr/libexec/criu"};

// The directory in `criu --help`'s "-L|--libdir ... (by default DIR)" line.
std::optional<fs::path> default_libdir_from_help(std::string_view help);

// The search list: CRIU_LIBS_DIR (when set), criu's default (when known), kUsualPluginDirs;
// duplicates removed.
std::vector<fs::path> plugin_search_dirs(const char* criu_libs_dir, const std::optional<fs::path>& criu_default);

// NAME.so in `dirs`, in order. The error (exit missing_dependency) lists every place looked at.
Result<fs::path> find_plugin(const std::string& name, const std::vector<fs::path>& dirs);

// A directory created under `parent` (mode 0700, name gpucr-criu-plugins.XXXXXX) holding one
// symlink NAME.so -> the real file for each plugin; removed by remove() or the destructor.
class PluginDir {
 public:
  struct Plugin {
    std::string name;      // e.g. "amdgpu_plugin"
    fs::path file;         // the real .so
  };
  static Result<PluginDir> create(const fs::path& parent, const std::vector<Plugin>& plugins);

  PluginDir() = default;
  PluginDir(PluginDir&& o) noexcept : path_(std::exchange(o.path_, {})) {}
  PluginDir& operator=(PluginDir&& o) noexcept;
  PluginDir(const PluginDir&) = delete;
  PluginDir& operator=(const PluginDir&) = delete;
  ~PluginDir();

  const fs::path& path() const { return path_; }
  bool active() const { return !path_.empty(); }
  Status remove();

 private:
  fs::path path_;
};

}  // namespace gpucr::criu
