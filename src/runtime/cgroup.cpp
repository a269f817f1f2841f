#include "runtime/cgroup.hpp"

#include "util/strings.hpp"

namespace gpucr::runtime {

CgroupPaths parse_proc_cgroup(std::string_view text) {
  CgroupPaths out;
  for (const auto& line : split(text, '\n')) {
    size_t a = line.find(':');
    size_t b = a == std::string::npos ? a : line.find(':', a + 1);
    if (b == std::string::npos) continue;
    std::string id = line.substr(0, a), controllers = line.substr(a + 1, b - a - 1), path = line.substr(b + 1);
    if (id == "0" && controllers.empty()) {
      out.unified = path;
      continue;
    }
    for (const auto& c : split(controllers, ',')) {
      if (c == "freezer") out.freezer_v1 = path;
    }
  }
  return out;
}

}  // namespace gpucr::runtime
