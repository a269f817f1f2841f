#include "runtime/paths.hpp"

namespace gpucr::runtime {

fs::path container_dir(const RunDir& run, const std::string& id) { return run.containers() / id; }

fs::path container_lock_file(const RunDir& run, const std::string& id) { return run.containers() / (id + ".lock"); }

}  // namespace gpucr::runtime
