// The AMD phases of a checkpoint (core/checkpoint.cpp):
//
//   amd: detect      which processes of the tree hold /dev/kfd or an AMD render node; for a tree
//                    without any, nothing else below happens
//   amd: preflight   KFD >= 1.8, capability, CRIU's amdgpu plugin (exit 4 naming where it was
//                    looked for), the KFD topology; all before any process is touched, so a
//                    failure leaves the tree as it was (CUDA phases come later)
//   (criu dump)      criu runs with --libdir holding exactly criu_plugins() (criu_plugins.hpp)
//   (manifest)       record(): topology, AMD processes, plugin, buffer sizes from the plugin's
//                    amdgpu-kfd-N.img files
#pragma once

#include "core/amd_host.hpp"
#include "core/amd_support.hpp"
#include "criu/plugin_dir.hpp"
#include "gpu/amd/detect.hpp"
#include "manifest.pb.h"

namespace gpucr {

class AmdCheckpoint {
 public:
  AmdCheckpoint(const AmdHost* host, const AmdOptions& opts, const proc::ProcessTable& procs)
      : host_(host), opts_(opts), procs_(procs) {}

  Status detect(const std::vector<proc::ProcInfo>& tree);
  bool active() const { return !processes_.empty(); }
  Status preflight();

  // The CRIU plugins this checkpoint needs (what the inventory's plugins field must list).
  std::vector<std::string> criu_plugins() const;
  // The files for the private plugin directory (empty for a tree without AMD processes).
  std::vector<criu::PluginDir::Plugin> plugin_files() const;
  // Fills m.amd (nothing for a tree without AMD processes); reads the plugin's images.
  void record(const fs::path& image_dir, pb::Manifest& m) const;

  const std::vector<amd::AmdProcess>& processes() const { return processes_; }
  const amd::Topology& topology() const { return topology_; }

 private:
  std::string who() const;

  const AmdHost* host_;
  const AmdOptions& opts_;
  const proc::ProcessTable& procs_;
  pid_t root_ = 0;
  std::vector<amd::AmdProcess> processes_;
  amd::Topology topology_;
  AmdSupport support_;
};

}  // namespace gpucr
