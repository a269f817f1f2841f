// Reading the KFD topology from sysfs (format: topology.hpp).
#pragma once

#include "gpu/amd/files.hpp"
#include "gpu/amd/topology.hpp"

namespace gpucr::amd {

inline constexpr const char* kTopologyRoot = "/sys/class/kfd/kfd/topology";

// Reads ROOT/nodes/*. A host without KFD (no ROOT/nodes) gives an empty topology. A node whose
// gpu_id can't be read is hidden (left out, as the plugin does); any other unreadable file of a
// visible node, or a GPU without a device-memory bank, is an error naming the file, because the
// plugin would fail on it too.
Result<Topology> read_topology(const Files& files, const fs::path& root);

// Parses "name value" lines; lines whose value is not a decimal integer are skipped.
Props parse_props(std::string_view text);

}  // namespace gpucr::amd
