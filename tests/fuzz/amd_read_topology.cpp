// amd::read_topology and its amd::parse_props (src/gpu/amd/topology_read.cpp): the KFD topology in
// sysfs (/sys/class/kfd/kfd/topology), which gpucr reads for `gpucr check`, the AMD preflight of
// a checkpoint and the GPU mapping of a restore; then that use: GPU and hive discovery, the
// manifest record (to_pb), and the plugin's GPU mapping (map_gpus) of a checkpointed topology
// onto this one (a fixture host, and the topology itself).
// Input: an in-memory sysfs tree (amd_support.hpp, MemFiles), e.g.
//   @nodes/1/gpu_id        then its content lines, "@nodes/1/properties", ...
// Properties: a topology read survives the manifest record (to_pb gives a message that parses back
// from its bytes to an equal one, from_pb keeps every node, whatever bytes the names hold: they are
// proto `bytes` fields); every GPU has device memory.
#include "amd_support.hpp"
#include "gpu/amd/detect.hpp"
#include "gpu/amd/mapping.hpp"
#include "gpu/amd/topology_pb.hpp"

#include <google/protobuf/util/message_differencer.h>

using namespace gpucr;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, size_t size) {
  static const amd::Topology checkpointed = fuzz::fixture_topology("xgmi_hive");
  fuzz::MemFiles files(fuzz::as_text(data, size));
  auto t = amd::read_topology(files, "/t");
  if (!t) {
    FUZZ_CHECK(t.error().exit == Exit::missing_dependency || t.error().exit == Exit::failed);
    return 0;
  }
  for (const auto* g : t->gpus()) FUZZ_CHECK(g->vram_size() > 0);
  (void)amd::render_minors(*t);
  (void)amd::xgmi_hives(*t);
  for (const auto& n : t->nodes) (void)amd::valid_link_count(*t, n);

  // The manifest's record (to_pb), read back by a restore (parse, from_pb) and mapped onto this
  // host, as when restoring where the checkpoint was taken; and a fixture checkpoint mapped here.
  pb::AmdTopology a, parsed;
  amd::to_pb(*t, &a);
  FUZZ_CHECK(parsed.ParseFromString(a.SerializeAsString()));
  FUZZ_CHECK(google::protobuf::util::MessageDifferencer::Equals(a, parsed));
  amd::Topology back = amd::from_pb(parsed);
  FUZZ_CHECK(back.nodes.size() == t->nodes.size() && back.hidden.size() == t->hidden.size());
  for (const amd::Topology* src : {&checkpointed, static_cast<const amd::Topology*>(&back)}) {
    amd::Mapping m = amd::map_gpus(*src, *t, amd::Checks{});
    (void)amd::mismatch_table(m.mismatches);
  }
  return 0;
}
