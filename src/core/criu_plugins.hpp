// Which of CRIU's plugins a criu run gets (the rest of the selection: criu/plugin_dir.hpp).
//
// gpucr checkpoints CUDA processes itself, through the driver, before criu runs, so criu never
// needs its cuda_plugin; AMD state can only be taken by criu (the KFD checkpoint ioctl answers
// only the ptrace parent), so an AMD tree needs amdgpu_plugin. criu runs only one plugin per
// hook, so the directory holds nothing else:
//
//   tree / image          plugins
//   CPU only              none (empty directory)
//   CUDA only             none
//   AMD only              amdgpu_plugin
//   CUDA and AMD          amdgpu_plugin
#pragma once

#include <string>
#include <vector>

namespace gpucr {

struct GpuUse {
  bool cuda = false;
  bool amd = false;
};

std::vector<std::string> criu_plugins_for(const GpuUse& use);

}  // namespace gpucr
