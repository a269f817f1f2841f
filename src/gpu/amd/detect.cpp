#include "gpu/amd/detect.hpp"

#include "util/log.hpp"

#include <cstdlib>

namespace gpucr::amd {

std::set<std::uint32_t> render_minors(const Topology& t) {
  std::set<std::uint32_t> out;
  for (const Node* g : t.gpus()) {
    if (g->render_minor() != 0) out.insert(g->render_minor());
  }
  return out;
}

std::optional<std::uint32_t> render_minor_of(const std::filesystem::path& dri, std::string_view path) {
  std::string prefix = (dri / "renderD").string();
  if (path.size() <= prefix.size() || path.substr(0, prefix.size()) != prefix) return std::nullopt;
  std::string_view digits = path.substr(prefix.size());
  if (digits.find_first_not_of("0123456789") != std::string_view::npos) return std::nullopt;
  return static_cast<std::uint32_t>(std::strtoul(std::string(digits).c_str(), nullptr, 10));
}

static void note_render(const DetectConfig& cfg, std::string_view path, AmdProcess& p) {
  if (auto m = render_minor_of(cfg.dri, path); m && cfg.amd_render_minors.count(*m)) p.render_minors.insert(*m);
}

std::vector<AmdProcess> find_amd_processes(const proc::ProcessTable& procs, const std::vector<proc::ProcInfo>& tree,
                                           const DetectConfig& cfg) {
  std::vector<AmdProcess> out;
  for (const auto& pi : tree) {
    AmdProcess p;
    p.pid = pi.pid;
    auto fds = procs.fds(pi.pid);
    auto maps = procs.mapped_files(pi.pid);
    if (!fds || !maps) {
      log::debug("amd: pid " + std::to_string(pi.pid) + " is gone, not scanned");
      continue;
    }
    for (const auto& fd : *fds) {
      if (fd.target == cfg.kfd.string()) p.kfd_fds.push_back(fd.fd);
      note_render(cfg, fd.target, p);
    }
    for (const auto& m : *maps) note_render(cfg, m, p);
    if (!p.kfd_fds.empty() || !p.render_minors.empty()) out.push_back(std::move(p));
  }
  return out;
}

}  // namespace gpucr::amd
