#include "criu/plugin_dir.hpp"

#include "util/file.hpp"
#include "util/strings.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>

namespace gpucr::criu {

std::optional<fs::path> default_libdir_from_help(std::string_view help) {
  for (const auto& line : split(help, '\n')) {
    if (line.find("--libdir") == std::string::npos) continue;
    constexpr std::string_view key = "(by default ";
    auto at = line.find(key);
    if (at == std::string::npos) continue;
    auto end = line.find(')', at);
    if (end == std::string::npos) continue;
    std::string dir(trim(std::string_view(line).substr(at + key.size(), end - at - key.size())));
    if (!dir.empty() && dir.front() == '/') return fs::path(dir);
  }
  return std::nullopt;
}

std::vector<fs::path> plugin_search_dirs(const char* criu_libs_dir, const std::optional<fs::path>& criu_default) {
  std::vector<fs::path> dirs;
  auto add = [&](const fs::path& p) {
    fs::path n = p.lexically_normal();
    if (n.has_filename() == false && n != "/") n = n.parent_path();  // "/usr/lib/criu/" -> "/usr/lib/criu"
    if (std::find(dirs.begin(), dirs.end(), n) == dirs.end()) dirs.push_back(n);
  };
  if (criu_libs_dir && *criu_libs_dir) add(criu_libs_dir);
  if (criu_default) add(*criu_default);
  for (const auto& d : kUsualPluginDirs) add(d);
  return dirs;
}

Result<fs::path> find_plugin(const std::string& name, const std::vector<fs::path>& dirs) {
  std::vector<std::string> looked;
  for (const auto& d : dirs) {
    fs::path p = d / (name + ".so");
    if (::access(p.c_str(), R_OK) == 0) return p;
    looked.push_back(d.string());
  }
  Error e("CRIU's " + name + " is not installed: no " + name + ".so in " +
              (dirs.empty() ? std::string("any directory") : join(looked, ", ")),
          Exit::missing_dependency);
  return fail(std::move(e).with_hint("install CRIU's " + name + " (built from criu's plugins/ directory) or point gpucr "
                                     "at its directory with --criu-plugins-dir DIR"));
}

Result<PluginDir> PluginDir::create(const fs::path& parent, const std::vector<Plugin>& plugins) {
  std::string tmpl = (parent / "gpucr-criu-plugins.XXXXXX").string();
  if (!::mkdtemp(tmpl.data())) return fail(sys_error("cannot create a plugin directory in " + parent.string(), errno));
  PluginDir dir;
  dir.path_ = tmpl;  // from here on, removed on failure by the destructor
  for (const auto& p : plugins) {
    std::error_code ec;
    fs::path target = fs::canonical(p.file, ec);
    if (ec) return fail(sys_error("cannot resolve " + p.file.string(), ec.value()).with_exit(Exit::missing_dependency));
    fs::path link = dir.path_ / (p.name + ".so");
    if (::symlink(target.c_str(), link.c_str()) != 0) return fail(sys_error("cannot create " + link.string(), errno));
  }
  return dir;
}

PluginDir& PluginDir::operator=(PluginDir&& o) noexcept {
  if (this != &o) {
    (void)remove();
    path_ = std::exchange(o.path_, {});
  }
  return *this;
}

PluginDir::~PluginDir() { (void)remove(); }

Status PluginDir::remove() {
  if (path_.empty()) return {};
  GPUCR_TRY(remove_tree(path_));
  path_.clear();
  return {};
}

}  // namespace gpucr::criu
