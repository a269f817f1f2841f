// Mapping checkpointed GPUs onto local ones with the amdgpu plugin's rules: one test per
// fixture scenario (tests/fixtures/kfd/README.md), with the exact mapping or table rows.
#include "amd_fakes.hpp"
#include "gpu/amd/mapping.hpp"
#include "gpu/amd/topology_read.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

using namespace gpucr;
using namespace gpucr::amd;
using gpucr::amdtest::DenyingFiles;
using gpucr::amdtest::fixture;
using testing::ElementsAre;

namespace {

Topology read(const std::string& name, std::vector<std::string> denied = {}) {
  DenyingFiles files;
  for (const auto& d : denied) files.denied.push_back(fixture(name) / d);
  auto t = read_topology(files, fixture(name));
  EXPECT_TRUE(t) << (t ? "" : t.error().what);
  return t ? *t : Topology{};
}

std::vector<std::pair<std::uint32_t, std::uint32_t>> pairs(const Mapping& m) {
  std::vector<std::pair<std::uint32_t, std::uint32_t>> out;
  for (const auto& p : m.gpus) out.emplace_back(p.checkpointed, p.local);
  return out;
}

std::string row(const Mismatch& m) {
  return m.checkpointed + " | " + m.local + " | " + m.property + " | " + m.checkpointed_value + " | " +
         m.local_value + " | " + m.rule;
}

std::vector<std::string> rows(const Mapping& m) {
  std::vector<std::string> out;
  for (const auto& r : m.mismatches) out.push_back(row(r));
  return out;
}

}  // namespace

TEST(AmdMapping, OneGpuMapsOntoItself) {
  Mapping m = map_gpus(read("one_gpu"), read("one_gpu"), Checks{});
  ASSERT_TRUE(m.ok) << testing::PrintToString(rows(m));
  EXPECT_THAT(pairs(m), ElementsAre(std::pair{0xa99du, 0xa99du}));
  ASSERT_EQ(m.cpus.size(), 1u);
  EXPECT_EQ(m.cpus[0].checkpointed, 0u);
  EXPECT_EQ(m.cpus[0].local, 0u);
}

TEST(AmdMapping, SameGpuModelOnAnotherHostMapsByProperties) {
  Mapping m = map_gpus(read("one_gpu"), read("one_gpu_other_host"), Checks{});
  ASSERT_TRUE(m.ok);
  EXPECT_THAT(pairs(m), ElementsAre(std::pair{0xa99du, 0x3039u}));
}

TEST(AmdMapping, XgmiHiveMapsOntoAHiveOfTheOtherHost) {
  Mapping m = map_gpus(read("xgmi_hive"), read("xgmi_hive_other_host"), Checks{});
  ASSERT_TRUE(m.ok) << testing::PrintToString(rows(m));
  EXPECT_THAT(pairs(m), ElementsAre(std::pair{0xa99du, 0x1b59u}, std::pair{0xee5cu, 0x1b5au}));
}

TEST(AmdMapping, XgmiHiveDoesNotMapOntoGpusWithoutOne) {
  Mapping m = map_gpus(read("xgmi_hive"), read("two_gpus"), Checks{});
  ASSERT_FALSE(m.ok);
  EXPECT_THAT(rows(m), ElementsAre("- | - | xgmi hives | 1 | 0 | <=",
                                   "hive 0xa99d 0xee5c | - | xgmi hive size | 2 | largest local hive: 0 | "
                                   "onto a hive at least as large",
                                   "0xa99d (node 1) | 0xa99d (node 1) | io_links_count | 2 | 1 | ==",
                                   "0xee5c (node 2) | 0xa99d (node 1) | io_links_count | 2 | 1 | =="));
}

TEST(AmdMapping, OlderLocalFirmwareIsAMismatchUnlessSkipped) {
  Mapping m = map_gpus(read("one_gpu"), read("fw_older"), Checks{});
  ASSERT_FALSE(m.ok);
  EXPECT_THAT(rows(m), ElementsAre("0xa99d (node 1) | 0xa99d (node 1) | fw_version | 78 | 70 | <= (skip: fw)"));

  Checks skip;
  skip.fw = false;
  Mapping relaxed = map_gpus(read("one_gpu"), read("fw_older"), skip);
  ASSERT_TRUE(relaxed.ok);
  EXPECT_THAT(pairs(relaxed), ElementsAre(std::pair{0xa99du, 0xa99du}));
}

TEST(AmdMapping, NewerLocalFirmwareIsFine) {
  EXPECT_TRUE(map_gpus(read("fw_older"), read("one_gpu"), Checks{}).ok);
}

TEST(AmdMapping, LessLocalVramIsAMismatchUnlessSkipped) {
  Mapping m = map_gpus(read("one_gpu"), read("less_vram"), Checks{});
  ASSERT_FALSE(m.ok);
  EXPECT_THAT(rows(m), ElementsAre("0xa99d (node 1) | 0xa99d (node 1) | vram_size | 68719476736 | 34359738368 | "
                                   "<= (skip: vram)"));
  Checks skip;
  skip.vram = false;
  EXPECT_TRUE(map_gpus(read("one_gpu"), read("less_vram"), skip).ok);
}

TEST(AmdMapping, GpuHiddenByTheDeviceCgroupChangesTheCount) {
  Topology local = read("hidden_by_cgroup", {"nodes/2"});
  Mapping m = map_gpus(read("two_gpus"), local, Checks{});
  ASSERT_FALSE(m.ok);
  ASSERT_EQ(m.mismatches.size(), 2u);
  EXPECT_EQ(row(m.mismatches[0]), "- | - | gpu count | 2 | 1 | ==");
  EXPECT_EQ(m.mismatches[1].local, "node 2");
  EXPECT_EQ(m.mismatches[1].property, "hidden node");
  EXPECT_THAT(m.mismatches[1].local_value, testing::HasSubstr("nodes/2/gpu_id: Operation not permitted"));
}

TEST(AmdMapping, CheckpointTakenBehindTheSameCgroupMapsOntoTheVisibleGpu) {
  // A checkpoint taken where node 2 was hidden too saw one GPU, linked to CPU node 0.
  Topology seen = read("hidden_by_cgroup", {"nodes/2"});
  Mapping m = map_gpus(seen, seen, Checks{});
  ASSERT_TRUE(m.ok) << testing::PrintToString(rows(m));
  EXPECT_THAT(pairs(m), ElementsAre(std::pair{0xa99du, 0xa99du}));
}

TEST(AmdMapping, GpusOnTwoSocketsDoNotMapOntoOneSocketUnlessNumaIsSkipped) {
  Mapping m = map_gpus(read("numa_two_sockets"), read("numa_one_socket"), Checks{});
  ASSERT_FALSE(m.ok);
  EXPECT_THAT(rows(m), ElementsAre("0xa99d (node 2) | 0xa99d (node 2) | numa | CPU node 0 | "
                                   "CPU node 0 (stands for checkpointed CPU node 1) | "
                                   "CPU nodes map one-to-one (skip: numa)"));
  Checks skip;
  skip.numa = false;
  Mapping relaxed = map_gpus(read("numa_two_sockets"), read("numa_one_socket"), skip);
  ASSERT_TRUE(relaxed.ok);
  EXPECT_THAT(pairs(relaxed), ElementsAre(std::pair{0xa99du, 0xa99du}, std::pair{0xee5cu, 0xee5cu}));
}

TEST(AmdMapping, GpusOnTwoSocketsMapCpuNodesOneToOne) {
  Mapping m = map_gpus(read("numa_two_sockets"), read("numa_two_sockets"), Checks{});
  ASSERT_TRUE(m.ok);
  EXPECT_THAT(pairs(m), ElementsAre(std::pair{0xa99du, 0xa99du}, std::pair{0xee5cu, 0xee5cu}));
  ASSERT_EQ(m.cpus.size(), 2u);
  EXPECT_EQ(m.cpus[0].local, 0u);
  EXPECT_EQ(m.cpus[1].local, 1u);
}

TEST(AmdMapping, TableIsAligned) {
  Mapping m = map_gpus(read("one_gpu"), read("fw_older"), Checks{});
  auto lines = mismatch_table(m.mismatches);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0].find("PROPERTY"), lines[1].find("fw_version"));
  EXPECT_EQ(lines[0].rfind("RULE"), lines[1].rfind("<= (skip: fw)"));
}

TEST(AmdChecks, SkipListTurnsOffNamedChecksAndRejectsUnknownOnes) {
  Checks c;
  ASSERT_TRUE(skip_checks("fw, sdma-fw,numa", c));
  EXPECT_FALSE(c.fw);
  EXPECT_FALSE(c.sdma_fw);
  EXPECT_FALSE(c.numa);
  EXPECT_TRUE(c.vram);
  EXPECT_EQ(plugin_env(c), (std::map<std::string, std::string>{
                               {"KFD_FW_VER_CHECK", "0"}, {"KFD_NUMA_CHECK", "0"}, {"KFD_SDMA_FW_VER_CHECK", "0"}}));
  auto bad = skip_checks("firmware", c);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().exit, Exit::usage);
}

TEST(AmdChecks, EnvironmentSwitchesThatCriuInheritsCountAsSkipped) {
  Checks c;
  apply_environment([](const char* n) -> const char* {
    std::string s = n;
    return s == "KFD_VRAM_SIZE_CHECK" ? "NO" : s == "KFD_CAPABILITY_CHECK" ? "0" : s == "KFD_FW_VER_CHECK" ? "1" : nullptr;
  }, c);
  EXPECT_FALSE(c.vram);
  EXPECT_FALSE(c.capability);
  EXPECT_TRUE(c.fw);
}
