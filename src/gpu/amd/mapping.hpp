// Mapping checkpointed GPUs onto local GPUs with the rules of CRIU's amdgpu plugin, so that a
// restore that the plugin would refuse fails before criu runs, with a table saying which GPU
// and which property is at fault.
//
// The search is the plugin's: equal GPU counts; XGMI hives first (each checkpointed hive onto a
// local hive at least as large, never more checkpointed hives than local ones), then the other
// GPUs; a GPU maps onto a local GPU when compare_gpus() finds nothing, it has at least as many
// valid io links, and each of its links to a CPU node has a local counterpart that is as good
// (same CPU-or-GPU end, XGMI not replaced by PCIe, bidirectional not replaced by one-way). With
// the NUMA check on, the CPU nodes those links reach must map one-to-one across all GPUs.
// Backtracking tries the next candidate when a later GPU can't be placed. Where several
// mappings work, the first found is reported; the plugin searches in the same order (it walks
// the non-hive GPUs from the highest node down), so it normally picks the same one.
#pragma once

#include "gpu/amd/checks.hpp"
#include "gpu/amd/topology.hpp"

#include <string>
#include <vector>

namespace gpucr::amd {

struct GpuPair {
  std::uint32_t checkpointed = 0;  // gpu_id
  std::uint32_t local = 0;
};

struct CpuPair {
  std::uint32_t checkpointed = 0;  // node id
  std::uint32_t local = 0;
};

// One row of the mismatch table.
struct Mismatch {
  std::string checkpointed;        // "0x1a2b (node 1)", or "-" for the whole system
  std::string local;
  std::string property;
  std::string checkpointed_value;
  std::string local_value;
  std::string rule;
};

struct Mapping {
  bool ok = false;
  std::vector<GpuPair> gpus;       // in checkpointed node order when ok
  std::vector<CpuPair> cpus;       // CPU nodes pinned by the NUMA check
  std::vector<Mismatch> mismatches;
};

Mapping map_gpus(const Topology& checkpointed, const Topology& local, const Checks& checks);

// "0x1a2b (node 1)".
std::string describe_gpu(const Node& n);

// The table as aligned text lines, a header line first.
std::vector<std::string> mismatch_table(const std::vector<Mismatch>& rows);

}  // namespace gpucr::amd
