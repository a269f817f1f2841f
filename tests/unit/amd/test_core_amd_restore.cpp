// core/amd_restore: the AMD phases of the restore driver: the GPU mapping, criu's plugins and
// environment, and when gpucr stops before criu runs.
#include "amd_phases.hpp"

using namespace gpucr;
using namespace gpucr::amdtest;
using testing::ElementsAre;
using testing::Contains;
using testing::HasSubstr;
using testing::Not;

TEST_F(AmdPhases, RestoreMapsTheGpusAndRunsCriuWithTheAmdgpuPlugin) {
  write_amd_image();
  auto r = restore();
  ASSERT_TRUE(r.status) << r.status.error().what;
  EXPECT_TRUE(ran_in_order(r.phases, {"read image", "amd: preflight", "wait for pids", "criu restore",
                                      "write pid file"}));
  ASSERT_EQ(criu.runs.size(), 1u);
  EXPECT_THAT(criu.runs[0].libdir_entries, ElementsAre("amdgpu_plugin.so"));
  EXPECT_TRUE(criu.runs[0].env.empty());  // every check on, buffers fit
  EXPECT_EQ(r.root_pid, 4242);
}

TEST_F(AmdPhases, RestoreOntoOlderFirmwareFailsBeforeCriuWithTheTable) {
  write_amd_image();
  amd.topology_root = fixture("fw_older");
  auto r = restore();
  ASSERT_FALSE(r.status);
  const Error& e = r.status.error();
  EXPECT_EQ(e.exit, Exit::missing_dependency);
  EXPECT_THAT(e.what, HasSubstr("can't be mapped onto this host's (1 mismatches"));
  ASSERT_EQ(e.details.size(), 2u);
  EXPECT_THAT(e.details[0], HasSubstr("PROPERTY"));
  EXPECT_THAT(e.details[1], testing::MatchesRegex("0xa99d \\(node 1\\) +0xa99d \\(node 1\\) +fw_version +78 +70 +"
                                                  "<= \\(skip: fw\\)"));
  EXPECT_THAT(e.hint, HasSubstr("--amd-skip-check"));
  EXPECT_TRUE(criu.runs.empty());
}

TEST_F(AmdPhases, SkippedFirmwareCheckIsPassedToThePlugin) {
  write_amd_image();
  amd.topology_root = fixture("fw_older");
  AmdOptions o;
  o.checks.fw = false;
  auto r = restore(o);
  ASSERT_TRUE(r.status) << r.status.error().what;
  EXPECT_EQ(criu.runs.at(0).env, (std::map<std::string, std::string>{{"KFD_FW_VER_CHECK", "0"}}));
}

TEST_F(AmdPhases, MissingRenderNodeOfTheChosenGpuFailsBeforeCriu) {
  write_amd_image();
  files.extra.erase(tmp / "dev/dri/renderD128");
  auto r = restore();
  ASSERT_FALSE(r.status);
  EXPECT_THAT(testing::PrintToString(r.status.error().details), HasSubstr("renderD128 missing"));
  EXPECT_TRUE(criu.runs.empty());
}

TEST_F(AmdPhases, BounceBufferIsCappedWhenTheLargestBufferDoesNotFit) {
  write_amd_image(/*bo_bytes=*/48 * GiB);  // 48 GiB > half of 64 GiB available
  auto r = restore();
  ASSERT_TRUE(r.status) << r.status.error().what;
  EXPECT_EQ(criu.runs.at(0).env.at("KFD_MAX_BUFFER_SIZE"), std::to_string(32 * GiB));
  AmdOptions o;
  o.max_buffer = 1 * GiB;
  criu.runs.clear();
  procs.procs.erase(4242);  // the first restore's tree ended
  auto again = restore(o);
  ASSERT_TRUE(again.status) << again.status.error().what;
  EXPECT_EQ(criu.runs.at(0).env.at("KFD_MAX_BUFFER_SIZE"), std::to_string(1 * GiB));
}

TEST_F(AmdPhases, CpuImageRestoresWithAnEmptyPluginDirectoryAndNoAmdPhase) {
  fs::create_directories(images);
  criu::Inventory inv;
  inv.entry.set_img_version(2);
  inv.set_plugins({});
  ASSERT_TRUE(criu::write_inventory(images, inv));
  criu::PstreeEntry e;
  e.set_pid(4242);
  e.set_ppid(0);
  e.set_pgid(4242);
  e.set_sid(4242);
  ASSERT_TRUE(write_file_atomic(images / "pstree.img",
                                criu::join_entries({criu::kMagicCommon, criu::kMagicPstree}, {e.SerializeAsString()})));
  auto r = restore();
  ASSERT_TRUE(r.status) << r.status.error().what;
  EXPECT_TRUE(ran_in_order(r.phases, {"read image", "wait for pids", "criu restore", "write pid file"}));
  EXPECT_THAT(names(r.phases), Not(Contains("amd: preflight")));
  EXPECT_TRUE(criu.runs.at(0).libdir_entries.empty());
  EXPECT_TRUE(criu.runs.at(0).env.empty());
  EXPECT_EQ(kfd.calls, 0);
}
