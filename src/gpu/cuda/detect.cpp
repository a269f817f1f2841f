#include "gpu/cuda/detect.hpp"

#include <algorithm>
#include <cctype>
#include <set>

namespace gpucr::cuda {

int nvidia_device_minor(std::string_view path) {
  auto slash = path.rfind('/');
  if (slash == std::string_view::npos || slash < 4 || path.substr(slash - 4, 5) != "/dev/") return kNotNvidia;
  std::string_view base = path.substr(slash + 1);
  if (base.rfind("nvidia", 0) != 0) return kNotNvidia;
  std::string_view rest = base.substr(6);
  if (!rest.empty() && std::all_of(rest.begin(), rest.end(), ::isdigit)) return std::atoi(std::string(rest).c_str());
  return -1;
}

static bool is_libcuda(const std::string& path) {
  auto slash = path.rfind('/');
  std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
  return base.rfind("libcuda.so", 0) == 0;
}

std::vector<Candidate> find_candidates(const proc::ProcessTable& procs, const std::vector<proc::ProcInfo>& tree) {
  std::vector<Candidate> out;
  for (const auto& p : tree) {
    Candidate c{p};
    std::set<int> minors;
    if (auto fds = procs.fds(p.pid)) {
      for (const auto& fd : *fds) {
        auto minor = nvidia_device_minor(fd.target);
        if (minor == kNotNvidia) continue;
        c.device_fds = true;
        if (minor >= 0) minors.insert(minor);
      }
    }
    if (auto maps = procs.mappings(p.pid)) {
      for (const auto& m : *maps) {
        c.libcuda = c.libcuda || is_libcuda(m);
        c.uvm_mappings += nvidia_device_minor(m) == -1 && m.size() >= 11 && m.substr(m.size() - 11) == "/nvidia-uvm";
      }
    }
    c.minors.assign(minors.begin(), minors.end());
    if (c.device_fds || c.libcuda) out.push_back(std::move(c));
  }
  return out;
}

}  // namespace gpucr::cuda
