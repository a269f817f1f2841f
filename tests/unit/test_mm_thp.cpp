// mm/thp: the sysfs file's format and the real seam on a stand-in file.
#include "mm/thp.hpp"

#include "support.hpp"

#include <gtest/gtest.h>

using namespace gpucr;
using namespace gpucr::fakes;
using mm::ThpMode;

TEST(ThpParse, TheBracketedWordIsTheMode) {
  EXPECT_EQ(mm::parse_thp_enabled("always [madvise] never\n"), ThpMode::madvise);
  EXPECT_EQ(mm::parse_thp_enabled("[always] madvise never\n"), ThpMode::always);
  EXPECT_EQ(mm::parse_thp_enabled("always madvise [never]"), ThpMode::never);
}

TEST(ThpParse, AnythingElseIsUnreadable) {
  EXPECT_FALSE(mm::parse_thp_enabled("always madvise never"));
  EXPECT_FALSE(mm::parse_thp_enabled("always [madvise never"));
  EXPECT_FALSE(mm::parse_thp_enabled("[always [madvise] never"));
  EXPECT_FALSE(mm::parse_thp_enabled("[sometimes] never"));
  EXPECT_FALSE(mm::parse_thp_enabled(""));
}

TEST(ThpParse, WordsRoundTrip) {
  for (ThpMode m : {ThpMode::always, ThpMode::madvise, ThpMode::never}) {
    EXPECT_EQ(mm::parse_thp_word(mm::to_string(m)), m);
  }
  EXPECT_FALSE(mm::parse_thp_word("[always]"));
}

TEST(SysThp, ReadsAndWritesTheFile) {
  TempDir tmp;
  fs::path file = mm::thp_enabled_path(tmp.path());
  EXPECT_EQ(file, tmp.path() / "kernel/mm/transparent_hugepage/enabled");
  fs::create_directories(file.parent_path());
  put_file(file, "always [madvise] never\n");
  mm::SysThp thp(file);
  auto m = thp.mode();
  ASSERT_TRUE(m) << m.error().what;
  EXPECT_EQ(*m, ThpMode::madvise);
  ASSERT_TRUE(thp.set_mode(ThpMode::always));
  EXPECT_EQ(slurp(file), "always");  // sysfs takes the word; a plain file just holds it
}

TEST(SysThp, MissingFileIsAnError) {
  TempDir tmp;
  mm::SysThp thp(tmp / "none");
  EXPECT_FALSE(thp.mode());
  auto st = thp.set_mode(ThpMode::always);
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().what.find(thp.where()), std::string::npos);
}
