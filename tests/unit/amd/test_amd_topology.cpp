// The KFD sysfs reader and the topology's derived facts, on the fixture trees.
#include "amd_fakes.hpp"
#include "gpu/amd/images.hpp"
#include "gpu/amd/topology_pb.hpp"
#include "gpu/amd/topology_read.hpp"

#include <gtest/gtest.h>

using namespace gpucr;
using namespace gpucr::amd;
using gpucr::amdtest::DenyingFiles;
using gpucr::amdtest::fixture;

namespace {

Topology read(const std::string& name) {
  DiskFiles files;
  auto t = read_topology(files, fixture(name));
  EXPECT_TRUE(t) << (t ? "" : t.error().what);
  return t ? *t : Topology{};
}

}  // namespace

TEST(AmdTopology, ReadsCpuAndGpuNodesWithEveryProperty) {
  Topology t = read("one_gpu");
  ASSERT_EQ(t.nodes.size(), 2u);
  EXPECT_FALSE(t.nodes[0].is_gpu());
  EXPECT_EQ(t.nodes[0].prop("cpu_cores_count"), 32u);
  const Node& g = t.nodes[1];
  EXPECT_EQ(g.gpu_id, 0xa99du);
  EXPECT_EQ(g.name, "gfx90a");
  EXPECT_EQ(g.prop("device_id"), 29711u);
  EXPECT_EQ(g.prop("fw_version"), 78u);
  EXPECT_EQ(g.prop("sdma_fw_version"), 8u);
  EXPECT_EQ(g.prop("capability"), 746538624u);
  EXPECT_EQ(g.props.size(), 36u);  // every line of the kernel's properties file
  EXPECT_EQ(g.render_minor(), 128u);
  EXPECT_TRUE(g.vram_public());
  EXPECT_EQ(g.vram_size(), 64ull << 30);
  EXPECT_EQ(g.caches.size(), 3u);                   // "sibling_map 1,0,..." lines are skipped
  EXPECT_EQ(g.caches[2].props.at("level"), 3u);
  ASSERT_EQ(g.io_links.size(), 1u);
  EXPECT_EQ(g.io_links[0].type(), kLinkPcie);
  EXPECT_EQ(g.io_links[0].node_to(), 0u);
  EXPECT_TRUE(t.hidden.empty());
}

TEST(AmdTopology, MissingKfdGivesAnEmptyTopology) {
  DiskFiles files;
  auto t = read_topology(files, "/nonexistent/kfd/topology");
  ASSERT_TRUE(t);
  EXPECT_TRUE(t->nodes.empty());
  EXPECT_EQ(t->gpu_count(), 0u);
}

TEST(AmdTopology, XgmiLinksFormOneHive) {
  Topology t = read("xgmi_hive");
  auto hives = xgmi_hives(t);
  ASSERT_EQ(hives.size(), 1u);
  EXPECT_EQ(hives[0], (std::vector<std::uint32_t>{0xa99d, 0xee5c}));
  EXPECT_EQ(t.gpu(0xa99d)->prop("hive_id"), 0x5a1e0000cafeull);
  EXPECT_TRUE(xgmi_hives(read("two_gpus")).empty());
}

TEST(AmdTopology, NodeDeniedByTheDeviceCgroupIsHiddenAndLinksToItAreInvalid) {
  DenyingFiles files;
  files.denied = {fixture("hidden_by_cgroup") / "nodes/2"};
  auto t = read_topology(files, fixture("hidden_by_cgroup"));
  ASSERT_TRUE(t) << t.error().what;
  EXPECT_EQ(t->gpu_count(), 1u);
  ASSERT_EQ(t->hidden.size(), 1u);
  EXPECT_EQ(t->hidden[0].id, 2u);
  EXPECT_NE(t->hidden[0].why.find("Operation not permitted"), std::string::npos) << t->hidden[0].why;
  const Node& cpu = *t->node(0);
  ASSERT_EQ(cpu.io_links.size(), 2u);  // the CPU's link to node 2 is still listed...
  EXPECT_FALSE(link_valid(*t, cpu.io_links[1]));  // ...but points at a hidden node
  EXPECT_EQ(valid_link_count(*t, cpu), 1u);
}

TEST(AmdTopology, UnreadablePropertiesOfAVisibleNodeIsAnError) {
  // gpu_id readable but properties not: the plugin fails on it, so gpucr does too.
  DenyingFiles files;
  files.denied = {fixture("one_gpu") / "nodes/1/properties"};
  auto t = read_topology(files, fixture("one_gpu"));
  ASSERT_FALSE(t);
  EXPECT_EQ(t.error().exit, Exit::missing_dependency);
  EXPECT_NE(t.error().what.find("KFD topology node 1"), std::string::npos) << t.error().what;
}

TEST(AmdTopology, ParsePropsSkipsNonNumericLines) {
  Props p = parse_props("a 1\nsibling_map 1,0,0\nb 18446744073709551615\n\nbad\n");
  EXPECT_EQ(p.size(), 2u);
  EXPECT_EQ(p.at("b"), 18446744073709551615ull);
}

TEST(AmdTopology, ManifestRecordRoundTrips) {
  Topology t = read("xgmi_hive");
  t.hidden.push_back({7, "why"});
  pb::AmdTopology rec;
  to_pb(t, &rec);
  Topology back = from_pb(rec);
  ASSERT_EQ(back.nodes.size(), t.nodes.size());
  for (size_t i = 0; i < t.nodes.size(); ++i) {
    EXPECT_EQ(back.nodes[i].props, t.nodes[i].props);
    EXPECT_EQ(back.nodes[i].io_links.size(), t.nodes[i].io_links.size());
    EXPECT_EQ(back.nodes[i].vram_size(), t.nodes[i].vram_size());
    EXPECT_EQ(back.nodes[i].caches.size(), t.nodes[i].caches.size());
  }
  EXPECT_EQ(xgmi_hives(back), xgmi_hives(t));
  ASSERT_EQ(back.hidden.size(), 1u);
  EXPECT_EQ(back.hidden[0].why, "why");
}

// Found by fuzz_amd_read_topology (corpus/amd_read_topology/crash-utf8-hidden-why): a hidden
// node's reason quotes what sysfs held, which may be any bytes; the record must parse back.
TEST(AmdTopology, AHiddenNodesReasonThatIsNotUtf8IsRecordedEscaped) {
  Topology t = read("xgmi_hive");
  t.hidden.push_back({7, "gpu_id is not a number: '\xff\xfe'"});
  pb::AmdTopology rec, parsed;
  to_pb(t, &rec);
  ASSERT_TRUE(parsed.ParseFromString(rec.SerializeAsString()));
  EXPECT_EQ(from_pb(parsed).hidden.at(0).why, "gpu_id is not a number: '\\xFF\\xFE'");
}

TEST(AmdTopology, PluginImageDeviceEntriesBecomeATopology) {
  criu::CriuKfd kfd;
  kfd.set_pid(10);
  auto* c = kfd.add_device_entries();
  c->set_node_id(0);
  c->set_cpu_cores_count(32);
  c->add_iolinks()->set_node_to_id(1);
  c->mutable_iolinks(0)->set_type(kLinkPcie);
  auto* g = kfd.add_device_entries();
  g->set_node_id(1);
  g->set_gpu_id(0xa99d);
  g->set_fw_version(78);
  g->set_vram_public(1);
  g->set_vram_size(64ull << 30);
  g->add_iolinks()->set_type(kLinkPcie);
  auto bytes = serialize_kfd_image(kfd);
  auto parsed = parse_kfd_image(bytes, "amdgpu-kfd-1.img");
  ASSERT_TRUE(parsed);
  Topology t = from_kfd_image(*parsed);
  ASSERT_EQ(t.gpu_count(), 1u);
  const Node& n = *t.gpu(0xa99d);
  EXPECT_EQ(n.prop("fw_version"), 78u);
  EXPECT_EQ(n.vram_size(), 64ull << 30);
  EXPECT_TRUE(n.vram_public());
  EXPECT_EQ(valid_link_count(t, n), 1u);
}
