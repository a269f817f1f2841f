#include "cli/amd_host.hpp"

#include "criu/plugin_dir.hpp"
#include "util/subprocess.hpp"

#include <cstdlib>

namespace gpucr::cli {

static std::vector<fs::path> search_dirs(const std::optional<fs::path>& criu) {
  std::optional<fs::path> criu_default;
  if (criu) {
    auto out = run_capture(Command{.argv = {criu->string(), "--help"}}, std::chrono::seconds(10));
    if (out) criu_default = criu::default_libdir_from_help(out->out + out->err);
  }
  return criu::plugin_search_dirs(std::getenv("CRIU_LIBS_DIR"), criu_default);
}

RealAmdHost::RealAmdHost(std::optional<fs::path> criu)
    : host_{.kfd = kfd_,
            .files = files_,
            .plugin_dirs = [criu] { return search_dirs(criu); },
            .getenv = [](const char* name) -> const char* { return std::getenv(name); }} {}

}  // namespace gpucr::cli
