// criu/image: CRIU's image framing (magic, then u32le length + message entries).
#include "criu/image.hpp"

#include "support.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

using namespace gpucr;
using namespace gpucr::fakes;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

namespace {
constexpr criu::ImageMagic kPstree{criu::kMagicCommon, criu::kMagicPstree};
}

TEST(CriuImage, JoinWritesPrefixMagicThenLengthPrefixedEntries) {
  std::string b = criu::join_entries(kPstree, {"ab", ""});
  EXPECT_EQ(b, bytes({0x19, 0x43, 0x56, 0x54, 0x30, 0x30, 0x27, 0x50, 0x02, 0, 0, 0, 'a', 'b', 0, 0, 0, 0}));
}

TEST(CriuImage, InventoryFramingHasNoPrefixMagic) {
  EXPECT_EQ(criu::join_entries({0, criu::kMagicInventory}, {}), bytes({0x16, 0x31, 0x31, 0x58}));
}

TEST(CriuImage, SplitInvertsJoin) {
  std::vector<std::string> entries = {"x", std::string(300, 'y'), "", bytes({0, 1, 2})};
  auto r = criu::split_entries(criu::join_entries(kPstree, entries), kPstree, "pstree.img");
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, entries);
}

TEST(CriuImage, MagicOnlyMeansNoEntries) {
  auto r = criu::split_entries(criu::join_entries(kPstree, {}), kPstree, "pstree.img");
  ASSERT_TRUE(r);
  EXPECT_THAT(*r, IsEmpty());
}

TEST(CriuImage, WrongPrefixOrImageMagicIsNamed) {
  std::string b = criu::join_entries({criu::kMagicService, criu::kMagicPstree}, {"a"});
  auto r = criu::split_entries(b, kPstree, "/d/pstree.img");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().exit, Exit::bad_input);
  EXPECT_THAT(r.error().what, HasSubstr("/d/pstree.img is not a valid CRIU image"));
  EXPECT_THAT(r.error().what, HasSubstr("magic 0x55105940, expected 0x54564319"));

  b = criu::join_entries({criu::kMagicCommon, criu::kMagicStats}, {"a"});
  r = criu::split_entries(b, kPstree, "/d/pstree.img");
  ASSERT_FALSE(r);
  EXPECT_THAT(r.error().what, HasSubstr("magic 0x57093306, expected 0x50273030"));
}

TEST(CriuImage, EveryTruncationIsAnError) {
  std::string b = criu::join_entries(kPstree, {"hello", "world"});
  for (size_t n = 0; n < b.size(); ++n) {
    auto r = criu::split_entries(b.substr(0, n), kPstree, "p.img");
    // Cutting exactly after a complete entry leaves a valid (shorter) image.
    if (n == 8 || n == 8 + 4 + 5) {
      EXPECT_TRUE(r) << n;
      continue;
    }
    ASSERT_FALSE(r) << "length " << n;
    EXPECT_EQ(r.error().exit, Exit::bad_input);
  }
}

TEST(CriuImage, LengthPastTheEndSaysHowMuchIsLeft) {
  std::string b = criu::join_entries(kPstree, {"abc"});
  b[8] = 9;
  auto r = criu::split_entries(b, kPstree, "p.img");
  ASSERT_FALSE(r);
  EXPECT_THAT(r.error().what, HasSubstr("entry at byte 8 claims 9 bytes, only 3 left"));
}

TEST(CriuImage, ReadEntriesReadsTheFile) {
  TempDir dir;
  put_file(dir / "pstree.img", criu::join_entries(kPstree, {"one", "two"}));
  auto r = criu::read_entries(dir / "pstree.img", kPstree);
  ASSERT_TRUE(r);
  EXPECT_THAT(*r, ElementsAre("one", "two"));
}

TEST(CriuImage, ReadEntriesOfAMissingFileIsBadInput) {
  TempDir dir;
  auto r = criu::read_entries(dir / "pstree.img", kPstree);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().exit, Exit::bad_input);
  EXPECT_THAT(r.error().what, HasSubstr("pstree.img"));
}
