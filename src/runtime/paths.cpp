#include "runtime/paths.hpp"

#include "util/file.hpp"

#include <cstdlib>

namespace gpucr::runtime {

fs::path run_dir() {
  const char* env = std::getenv("GPUCR_RUN_DIR");
  if (env && *env == '/') return fs::path(env);
  return "/run/gpucr";
}

fs::path containers_dir(const fs::path& run) { return run / "containers"; }

fs::path container_dir(const fs::path& run, const std::string& id) { return containers_dir(run) / id; }

fs::path container_lock_file(const fs::path& run, const std::string& id) {
  return containers_dir(run) / (id + ".lock");
}

Status make_containers_dir(const fs::path& run) {
  GPUCR_TRY(make_private_dir(run, /*must_be_empty=*/false));
  return make_private_dir(containers_dir(run), /*must_be_empty=*/false);
}

}  // namespace gpucr::runtime
