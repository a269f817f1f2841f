// Converting a KFD topology to and from its records: gpucr's manifest (amd.proto) and the
// device entries CRIU's amdgpu plugin stores in amdgpu-kfd-N.img (criu_amdgpu.proto).
#pragma once

#include "gpu/amd/topology.hpp"
#include "amd.pb.h"
#include "criu_amdgpu.pb.h"

namespace gpucr::amd {

void to_pb(const Topology& t, pb::AmdTopology* out);
Topology from_pb(const pb::AmdTopology& in);

// The plugin's own record of the topology at dump time (only the properties it compares, the
// first device-memory bank and its valid PCIe/XGMI links).
Topology from_kfd_image(const criu::CriuKfd& kfd);

}  // namespace gpucr::amd
