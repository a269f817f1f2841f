// The AMD phases of a checkpoint (core/checkpoint.cpp), process trees and containers alike:
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
  // `plugins_dir`: --criu-plugins-dir (the only place amdgpu_plugin.so is looked for when set).
  AmdCheckpoint(const AmdHost* host, std::optional<fs::path> plugins_dir, const proc::ProcessTable& procs)
      : host_(host), plugins_dir_(std::move(plugins_dir)), procs_(procs) {}

  // `target` names what is checkpointed in messages ("pid 42", "container c1").
  Status detect(const std::vector<proc::ProcInfo>& tree, const std::string& target);
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
  std::optional<fs::path> plugins_dir_;
  const proc::ProcessTable& procs_;
  std::string target_;
  std::vector<amd::AmdProcess> processes_;
  amd::Topology topology_;
  AmdSupport support_;
};

}  // namespace gpucr
