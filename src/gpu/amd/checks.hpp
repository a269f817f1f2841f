// The per-GPU rules of CRIU's amdgpu plugin for restoring onto local GPUs, and the switches
// that relax them. The plugin reads the switches from its environment at restore (each
// defaults to on; "0" or "NO" turns it off):
//
//   --amd-skip-check  plugin variable           relaxes
//   fw                KFD_FW_VER_CHECK          fw_version        checkpoint <= local
//   sdma-fw           KFD_SDMA_FW_VER_CHECK     sdma_fw_version   checkpoint <= local
//   caches            KFD_CACHES_COUNT_CHECK    caches_count      checkpoint <= local
//   gws               KFD_NUM_GWS_CHECK         num_gws           checkpoint <= local
//   vram              KFD_VRAM_SIZE_CHECK       vram_size         checkpoint <= local
//   capability        KFD_CAPABILITY_CHECK      capability        equal
//   numa              KFD_NUMA_CHECK            CPU (NUMA) nodes the GPUs hang off map consistently
//
// Always equal: simd_count, mem_banks_count, io_links_count, max_waves_per_simd,
// lds_size_in_kb, wave_front_size, array_count, simd_arrays_per_engine, cu_per_simd_array,
// simd_per_cu, max_slots_scratch_cu, vendor_id, device_id, num_sdma_engines,
// num_sdma_xgmi_engines, num_sdma_queues_per_engine, num_cp_queues, and whether device memory
// is public (vram_public). KFD_MAX_BUFFER_SIZE (bytes, or K/M/G) caps the plugin's per-GPU
// bounce buffer, which is otherwise as large as the largest buffer object.
#pragma once

#include "gpu/amd/topology.hpp"

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace gpucr::amd {

struct Checks {
  bool fw = true;
  bool sdma_fw = true;
  bool caches = true;
  bool gws = true;
  bool vram = true;
  bool capability = true;
  bool numa = true;
};

// The switches: CLI name, plugin variable, member.
struct Switch {
  const char* name;
  const char* env;
  bool Checks::*member;
};
const std::vector<Switch>& switches();

// Turns off the checks named in "fw,sdma-fw,..." (exit usage for an unknown name).
Status skip_checks(std::string_view csv, Checks& checks);
// Turns off the checks whose variable is "0"/"NO" in `getenv` (criu inherits gpucr's
// environment, so the plugin would skip them too).
void apply_environment(const std::function<const char*(const char*)>& getenv, Checks& checks);
// The variables to put in criu's environment: "0" for every check that is off.
std::map<std::string, std::string> plugin_env(const Checks& checks);

inline constexpr const char* kMaxBufferEnv = "KFD_MAX_BUFFER_SIZE";

struct PropertyMismatch {
  std::string property;
  std::uint64_t checkpointed = 0;
  std::uint64_t local = 0;
  std::string rule;  // "==", "<=", with the switch that relaxes it: "<= (skip: fw)"
};

// Every rule `local` breaks as a target for checkpointed GPU `src` (empty: compatible).
std::vector<PropertyMismatch> compare_gpus(const Node& src, const Node& local, const Checks& checks);

}  // namespace gpucr::amd
