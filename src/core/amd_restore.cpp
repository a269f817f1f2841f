#include "core/amd_restore.hpp"
#include "criu/plugins.hpp"

#include "gpu/amd/images.hpp"
#include "gpu/amd/topology_pb.hpp"
#include "util/log.hpp"
#include "util/strings.hpp"

namespace gpucr {

Result<AmdImage> read_amd_image(const fs::path& image_dir, const std::optional<pb::Manifest>& manifest) {
  AmdImage a;
  auto images = GPUCR_TRY(amd::read_kfd_images(image_dir));
  auto inv = GPUCR_TRY(criu::read_inventory(image_dir));
  auto listed = inv.plugins();
  bool in_inventory = std::find(listed.begin(), listed.end(), criu::kAmdgpuPlugin) != listed.end();
  bool in_manifest = manifest && manifest->has_amd() && manifest->amd().processes_size() > 0;
  a.needed = in_manifest || !images.empty() || in_inventory;
  if (in_manifest) {
    a.topology = amd::from_pb(manifest->amd().topology());
    a.topology_source = "gpucr manifest";
  } else if (!images.empty()) {
    a.topology = amd::from_kfd_image(images.front().kfd);
    a.topology_source = "amdgpu-kfd-" + std::to_string(images.front().id) + ".img";
  }
  a.buffers = amd::buffer_stats(images);
  return a;
}

amd::Checks effective_checks(const AmdHost* host, const AmdOptions& opts) {
  amd::Checks c = opts.checks;
  if (host && host->getenv) amd::apply_environment(host->getenv, c);
  return c;
}

amd::Mapping map_onto_host(const amd::Topology& checkpointed, const amd::Topology& local, const amd::Checks& checks,
                           const AmdHost& host) {
  amd::Mapping m = amd::map_gpus(checkpointed, local, checks);
  if (!m.ok) return m;
  for (const auto& p : m.gpus) {
    const amd::Node& d = *local.gpu(p.local);
    fs::path node = host.dev_root / "dri" / ("renderD" + std::to_string(d.render_minor()));
    if (!host.files.exists(node)) {
      m.mismatches.push_back({describe_gpu(*checkpointed.gpu(p.checkpointed)), describe_gpu(d), "render node", "",
                              node.string() + " missing", "must exist (device cgroup or /dev of a container?)"});
    }
  }
  m.ok = m.mismatches.empty();
  return m;
}

Result<bool> AmdRestore::needed(const fs::path& image_dir, const std::optional<pb::Manifest>& manifest) {
  image_ = GPUCR_TRY(read_amd_image(image_dir, manifest));
  return image_.needed;
}

Status AmdRestore::preflight(const fs::path& image_dir) {
  std::string what = "restore of " + image_dir.string() + " (AMD GPU state)";
  support_ = GPUCR_TRY(require_amd_support(host_, plugins_dir_, what));
  amd::Checks checks = effective_checks(host_, opts_);
  if (image_.topology) {
    auto local = GPUCR_TRY(amd::read_topology(host_->files, host_->topology_root));
    mapping_ = map_onto_host(*image_.topology, local, checks, *host_);
    if (!mapping_.ok) {
      Error e(what + ": the checkpointed AMD GPUs can't be mapped onto this host's (" +
                  std::to_string(mapping_.mismatches.size()) + " mismatches, see the table)",
              Exit::missing_dependency);
      e.details = amd::mismatch_table(mapping_.mismatches);
      return fail(std::move(e).with_hint(
          "restore on a host with matching GPUs; where you know a difference is harmless, relax that rule with "
          "--amd-skip-check NAME (the RULE column names it)"));
    }
    for (const auto& p : mapping_.gpus) {
      log::info("amd: GPU " + amd::gpu_name(p.checkpointed) + " -> " + amd::gpu_name(p.local));
    }
  } else {
    log::warn("amd: the image records no GPU topology; the amdgpu plugin maps GPUs itself");
  }
  env_ = amd::plugin_env(checks);
  std::optional<std::uint64_t> avail;
  if (auto meminfo = host_->files.read(host_->proc_root / "meminfo")) avail = amd::mem_available(*meminfo);
  const char* env_size = host_->getenv ? host_->getenv(amd::kMaxBufferEnv) : nullptr;
  buffers_ = amd::plan_buffers(image_.buffers, opts_.max_buffer, env_size, avail);
  if (buffers_.max_buffer) env_[amd::kMaxBufferEnv] = std::to_string(*buffers_.max_buffer);
  log::info("amd: bounce buffers: " + buffers_.why);
  return {};
}

std::vector<criu::PluginDir::Plugin> AmdRestore::plugin_files() const {
  if (!image_.needed) return {};
  return {{criu::kAmdgpuPlugin, support_.plugin}};
}

}  // namespace gpucr
