// criu/stats: the pstree.img and stats-dump readers, on hand-built images.
#include "criu/stats.hpp"

#include "support.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

using namespace gpucr;
using namespace gpucr::fakes;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(CriuStats, PstreeListsEveryProcessWithThreads) {
  TempDir dir;
  put_file(dir / "pstree.img", pstree_image({{100, 0, {100, 103}}, {101, 100, {101}}, {102, 100, {102}}}));
  auto tree = criu::read_pstree(dir.path());
  ASSERT_TRUE(tree) << tree.error().what;
  ASSERT_EQ(tree->size(), 3u);
  EXPECT_EQ((*tree)[0].pid(), 100u);
  EXPECT_EQ((*tree)[0].ppid(), 0u);
  EXPECT_THAT((*tree)[0].threads(), ElementsAre(100u, 103u));
  EXPECT_EQ((*tree)[2].pid(), 102u);
  EXPECT_EQ((*tree)[2].ppid(), 100u);
  EXPECT_EQ((*tree)[2].sid(), 100u);
}

TEST(CriuStats, RealCriuPstreeBytesParse) {
  // pstree.img of a three-process tree written by criu 4.1.1 (measured): root 10701 with
  // threads 10701 and 10705, children 10703 and 10704.
  TempDir dir;
  put_file(dir / "pstree.img",
           bytes({0x19, 0x43, 0x56, 0x54, 0x30, 0x30, 0x27, 0x50, 0x11, 0x00, 0x00, 0x00, 0x08, 0xcd, 0x53, 0x10,
                  0x00, 0x18, 0xcd, 0x53, 0x20, 0xcd, 0x53, 0x28, 0xcd, 0x53, 0x28, 0xd1, 0x53, 0x0f, 0x00, 0x00,
                  0x00, 0x08, 0xcf, 0x53, 0x10, 0xcd, 0x53, 0x18, 0xcd, 0x53, 0x20, 0xcd, 0x53, 0x28, 0xcf, 0x53,
                  0x0f, 0x00, 0x00, 0x00, 0x08, 0xd0, 0x53, 0x10, 0xcd, 0x53, 0x18, 0xcd, 0x53, 0x20, 0xcd, 0x53,
                  0x28, 0xd0, 0x53}));
  auto tree = criu::read_pstree(dir.path());
  ASSERT_TRUE(tree) << tree.error().what;
  ASSERT_EQ(tree->size(), 3u);
  EXPECT_EQ((*tree)[0].pid(), 10701u);
  EXPECT_THAT((*tree)[0].threads(), ElementsAre(10701u, 10705u));
  EXPECT_EQ((*tree)[1].pid(), 10703u);
  EXPECT_EQ((*tree)[1].ppid(), 10701u);
  EXPECT_EQ((*tree)[2].pid(), 10704u);
}

TEST(CriuStats, PstreeWithoutProcessesIsBadInput) {
  TempDir dir;
  put_file(dir / "pstree.img", pstree_image({}).substr(0, 8));
  auto tree = criu::read_pstree(dir.path());
  ASSERT_FALSE(tree);
  EXPECT_EQ(tree.error().exit, Exit::bad_input);
  EXPECT_THAT(tree.error().what, HasSubstr("holds no process"));
}

TEST(CriuStats, PstreeEntryThatDoesNotParseIsNamed) {
  TempDir dir;
  put_file(dir / "pstree.img", criu::join_entries({criu::kMagicCommon, criu::kMagicPstree}, {bytes({0x08, 0x01})}));
  auto tree = criu::read_pstree(dir.path());  // ppid, pgid, sid are required
  ASSERT_FALSE(tree);
  EXPECT_EQ(tree.error().exit, Exit::bad_input);
  EXPECT_THAT(tree.error().what, HasSubstr((dir / "pstree.img").string()));
  EXPECT_THAT(tree.error().what, HasSubstr("lacks ppid, pgid, sid"));
}

TEST(CriuStats, MissingPstreeIsBadInput) {
  TempDir dir;
  auto tree = criu::read_pstree(dir.path());
  ASSERT_FALSE(tree);
  EXPECT_EQ(tree.error().exit, Exit::bad_input);
}

TEST(CriuStats, DumpStatsAreRead) {
  TempDir dir;
  criu::StatsEntry s;
  s.mutable_dump()->set_freezing_time(1200);
  s.mutable_dump()->set_frozen_time(90000);
  s.mutable_dump()->set_memdump_time(30000);
  s.mutable_dump()->set_memwrite_time(40000);
  s.mutable_dump()->set_pages_scanned(262144);
  s.mutable_dump()->set_pages_written(262000);
  put_file(dir / "stats-dump", stats_image(s));
  auto r = criu::read_stats(dir.path());
  ASSERT_TRUE(r) << r.error().what;
  ASSERT_TRUE(r->has_value());
  EXPECT_EQ((*r)->dump().frozen_time(), 90000u);
  EXPECT_EQ((*r)->dump().pages_written(), 262000u);
  EXPECT_FALSE((*r)->has_restore());
}

TEST(CriuStats, RealCriuStatsDumpBytesParse) {
  // stats-dump written by criu 4.1.1 for a small tree (measured).
  TempDir dir;
  put_file(dir / "stats-dump",
           bytes({0x40, 0x59, 0x10, 0x55, 0x06, 0x33, 0x09, 0x57, 0x24, 0x00, 0x00, 0x00, 0x0a, 0x22, 0x08, 0xad,
                  0x08, 0x10, 0xec, 0xe8, 0x02, 0x18, 0xf3, 0x19, 0x20, 0xf9, 0x03, 0x28, 0x86, 0x01, 0x30, 0x00,
                  0x38, 0x5c, 0x40, 0x00, 0x48, 0x00, 0x50, 0x12, 0x58, 0x12, 0x60, 0x00, 0x68, 0x00, 0x70, 0x00}));
  auto r = criu::read_stats(dir.path());
  ASSERT_TRUE(r) << r.error().what;
  ASSERT_TRUE(r->has_value());
  EXPECT_EQ((*r)->dump().freezing_time(), 1069u);
  EXPECT_EQ((*r)->dump().frozen_time(), 46188u);
  EXPECT_EQ((*r)->dump().pages_scanned(), 134u);
  EXPECT_EQ((*r)->dump().pages_written(), 92u);
}

TEST(CriuStats, RestoreStatsUseTheNamedFile) {
  TempDir dir;
  criu::StatsEntry s;
  s.mutable_restore()->set_pages_restored(77);
  put_file(dir / "stats-restore", stats_image(s));
  auto r = criu::read_stats(dir.path(), "stats-restore");
  ASSERT_TRUE(r);
  ASSERT_TRUE(r->has_value());
  EXPECT_EQ((*r)->restore().pages_restored(), 77u);
}

TEST(CriuStats, AbsentStatsAreNotAnError) {
  TempDir dir;
  auto r = criu::read_stats(dir.path());
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->has_value());
}

TEST(CriuStats, StatsWithTheWrongMagicOrTwoEntriesAreBadInput) {
  TempDir dir;
  put_file(dir / "stats-dump", criu::join_entries({criu::kMagicCommon, criu::kMagicStats}, {""}));
  auto r = criu::read_stats(dir.path());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().exit, Exit::bad_input);

  put_file(dir / "stats-dump", criu::join_entries({criu::kMagicService, criu::kMagicStats}, {"", ""}));
  r = criu::read_stats(dir.path());
  ASSERT_FALSE(r);
  EXPECT_THAT(r.error().what, HasSubstr("2 entries"));
}
