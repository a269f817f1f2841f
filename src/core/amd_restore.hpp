// The AMD phase of a restore (core/restore.cpp), before criu runs:
//
//   amd: preflight   only for an image with AMD state (manifest `amd`, amdgpu-kfd-N.img files,
//                    or "amdgpu_plugin" in the inventory): KFD >= 1.8, capability, the plugin;
//                    then the checkpointed GPUs are mapped onto this host's with the plugin's
//                    rules (gpu/amd/mapping.hpp) and each chosen GPU's render node must exist.
//                    A failure stops the restore with exit 4 and the mismatch table in the
//                    error's details. It also decides criu's environment: the plugin's check
//                    switches that are off, and KFD_MAX_BUFFER_SIZE (gpu/amd/buffer.hpp).
//   (criu restore)   --libdir with exactly the amdgpu plugin, and criu_env().
//
// The checkpointed topology comes from gpucr's manifest, else from the plugin's own record in
// the first amdgpu-kfd-N.img (images not written by gpucr).
#pragma once

#include "core/amd_host.hpp"
#include "core/amd_support.hpp"
#include "criu/inventory.hpp"
#include "criu/plugin_dir.hpp"
#include "gpu/amd/buffer.hpp"
#include "gpu/amd/mapping.hpp"
#include "manifest.pb.h"

#include <map>
#include <optional>

namespace gpucr {

// The AMD part of an image, as far as a restore (or `inspect`) needs it.
struct AmdImage {
  bool needed = false;                        // the image has AMD state
  std::optional<amd::Topology> topology;      // checkpointed topology, when recorded
  std::string topology_source;                // "gpucr manifest", "amdgpu-kfd-N.img"
  std::vector<amd::BufferStats> buffers;
};
Result<AmdImage> read_amd_image(const fs::path& image_dir, const std::optional<pb::Manifest>& manifest);

// The mapping onto this host, render nodes included (rows are added for missing ones).
amd::Mapping map_onto_host(const amd::Topology& checkpointed, const amd::Topology& local, const amd::Checks& checks,
                           const AmdHost& host);

class AmdRestore {
 public:
  AmdRestore(const AmdHost* host, const AmdOptions& opts, std::optional<fs::path> plugins_dir)
      : host_(host), opts_(opts), plugins_dir_(std::move(plugins_dir)) {}

  // Reads what the image says about AMD; true when the preflight must run.
  Result<bool> needed(const fs::path& image_dir, const std::optional<pb::Manifest>& manifest);
  Status preflight(const fs::path& image_dir);

  std::vector<criu::PluginDir::Plugin> plugin_files() const;
  std::map<std::string, std::string> criu_env() const { return env_; }
  const amd::Mapping& mapping() const { return mapping_; }
  const amd::BufferPlan& buffers() const { return buffers_; }

 private:
  const AmdHost* host_;
  const AmdOptions& opts_;
  std::optional<fs::path> plugins_dir_;
  AmdImage image_;
  AmdSupport support_;
  amd::Mapping mapping_;
  amd::BufferPlan buffers_;
  std::map<std::string, std::string> env_;
};

// The checks in force: the options', minus those switched off in gpucr's environment.
amd::Checks effective_checks(const AmdHost* host, const AmdOptions& opts);

}  // namespace gpucr
