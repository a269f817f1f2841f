#include "core/amd_checkpoint.hpp"
#include "criu/plugins.hpp"

#include "core/criu_plugins.hpp"
#include "gpu/amd/images.hpp"
#include "gpu/amd/topology_pb.hpp"
#include "util/log.hpp"
#include "util/strings.hpp"

namespace gpucr {

Status AmdCheckpoint::detect(const std::vector<proc::ProcInfo>& tree, const std::string& target) {
  if (tree.empty()) return {};
  target_ = target;
  amd::DetectConfig cfg;
  if (host_) {
    cfg.kfd = host_->kfd.path();
    cfg.dri = host_->dev_root / "dri";
    // Render nodes count as AMD only when the KFD topology names them; an unreadable topology
    // is reported by the preflight, which runs whenever /dev/kfd is in use.
    if (auto t = amd::read_topology(host_->files, host_->topology_root)) cfg.amd_render_minors = amd::render_minors(*t);
  }
  processes_ = amd::find_amd_processes(procs_, tree, cfg);
  if (active()) log::info("AMD GPU users in " + target_ + ": " + who());
  return {};
}

std::string AmdCheckpoint::who() const {
  std::vector<std::string> pids;
  for (const auto& p : processes_) pids.push_back(std::to_string(p.pid));
  return join(pids, ", ");
}

Status AmdCheckpoint::preflight() {
  std::string what = "checkpoint of " + target_ + " (AMD GPU users: " + who() + ")";
  support_ = GPUCR_TRY(require_amd_support(host_, plugins_dir_, what));
  topology_ = GPUCR_TRY(amd::read_topology(host_->files, host_->topology_root));
  if (topology_.gpu_count() == 0) {
    return fail(Error(what + ": no AMD GPU is visible in the KFD topology at " + host_->topology_root.string(),
                      Exit::missing_dependency)
                    .with_hint("the amdgpu driver must expose its GPUs to this process (device cgroup, /sys mounts)"));
  }
  log::info("amdgpu plugin: " + support_.plugin.string() + "; KFD " + support_.kfd.str() + "; " +
            std::to_string(topology_.gpu_count()) + " GPUs");
  return {};
}

std::vector<std::string> AmdCheckpoint::criu_plugins() const { return criu_plugins_for(GpuUse{.amd = active()}); }

std::vector<criu::PluginDir::Plugin> AmdCheckpoint::plugin_files() const {
  if (!active()) return {};
  return {{criu::kAmdgpuPlugin, support_.plugin}};
}

void AmdCheckpoint::record(const fs::path& image_dir, pb::Manifest& m) const {
  if (!active()) return;
  auto* a = m.mutable_amd();
  amd::to_pb(topology_, a->mutable_topology());
  for (const auto& p : processes_) {
    auto* pp = a->add_processes();
    pp->set_pid(p.pid);
    for (int fd : p.kfd_fds) pp->add_kfd_fds(fd);
    for (auto minor : p.render_minors) pp->add_render_minors(minor);
  }
  for (const auto& name : criu_plugins()) a->add_criu_plugins(name);
  a->set_plugin_path(support_.plugin.string());
  a->set_kfd_major(support_.kfd.major);
  a->set_kfd_minor(support_.kfd.minor);
  auto images = amd::read_kfd_images(image_dir);
  if (!images) {
    log::warn("amd: cannot read the amdgpu plugin's images: " + images.error().what);
    return;
  }
  for (const auto& s : amd::buffer_stats(*images)) {
    auto* b = a->add_buffers();
    b->set_image_id(s.image_id);
    b->set_pid(s.pid);
    b->set_gpu_id(s.gpu_id);
    b->set_count(s.count);
    b->set_total_bytes(s.total_bytes);
    b->set_largest_bytes(s.largest_bytes);
  }
}

}  // namespace gpucr
