// Why map_gpus() found no mapping: the rows of the mismatch table (mapping.hpp). Internal.
#pragma once

#include "gpu/amd/mapping.hpp"

namespace gpucr::amd {

// Checks, in the plugin's order, what stops the mapping: GPU count (naming hidden local nodes),
// XGMI hives, per-GPU properties (against the closest local GPU), io links, then NUMA
// consistency; a final row when only the one-to-one assignment fails.
std::vector<Mismatch> explain(const Topology& checkpointed, const Topology& local, const Checks& checks);

}  // namespace gpucr::amd
