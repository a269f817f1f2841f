// util/file: whole-file reads, atomic writes, private directories, names.
#include "util/file.hpp"

#include "support.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

using namespace gpucr;
using namespace gpucr::fakes;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(UtilFile, IsSafeName) {
  for (const std::string& ok : {std::string("a"), std::string("ctr-1"), std::string("A.b_c-9"), std::string("..x"),
                                std::string(128, 'n')}) {
    EXPECT_TRUE(is_safe_name(ok)) << ok;
  }
  for (std::string bad : {std::string(), std::string("."), std::string(".."), std::string("-rf"),
                          std::string("a/b"), std::string("a b"), std::string("x\0y", 3), std::string("é"),
                          std::string(129, 'n'), std::string("a;b")}) {
    EXPECT_FALSE(is_safe_name(bad)) << bad;
  }
}

TEST(UtilFile, WriteAtomicCreatesReplacesAndSetsMode) {
  TempDir dir;
  fs::path p = dir / "f";
  ASSERT_TRUE(write_file_atomic(p, "one", 0640));
  EXPECT_EQ(slurp(p), "one");
  EXPECT_EQ(mode_of(p), 0640u);
  ino_t first = inode_of(p);
  ASSERT_TRUE(write_file_atomic(p, std::string("two\0bytes", 9)));
  EXPECT_EQ(slurp(p), std::string("two\0bytes", 9));
  EXPECT_EQ(mode_of(p), 0600u);
  EXPECT_NE(inode_of(p), first);  // renamed over, never rewritten in place
  EXPECT_THAT(*list_dir(dir.path()), ElementsAre("f"));
}

TEST(UtilFile, WriteAtomicIntoAMissingDirFailsCleanly) {
  TempDir dir;
  auto st = write_file_atomic(dir / "no" / "f", "x");
  ASSERT_FALSE(st);
  EXPECT_THAT(st.error().what, HasSubstr((dir / "no").string()));
  EXPECT_TRUE(list_dir(dir.path())->empty());
}

TEST(UtilFile, WriteAtomicOverADirectoryFailsAndLeavesNoTemporary) {
  TempDir dir;
  fs::create_directory(dir / "d");
  put_file(dir / "d" / "inside", "x");
  ASSERT_FALSE(write_file_atomic(dir / "d", "x"));
  EXPECT_THAT(*list_dir(dir.path()), ElementsAre("d"));
}

TEST(UtilFile, ReadFileOfAMissingFileNamesIt) {
  TempDir dir;
  auto r = read_file(dir / "missing");
  ASSERT_FALSE(r);
  EXPECT_THAT(r.error().what, HasSubstr("cannot open " + (dir / "missing").string()));
}

TEST(UtilFile, MakePrivateDirCreatesParentsWithMode0700) {
  TempDir dir;
  ASSERT_TRUE(make_private_dir(dir / "a" / "b", true));
  EXPECT_TRUE(fs::is_directory(dir / "a" / "b"));
  EXPECT_EQ(mode_of(dir / "a" / "b"), 0700u);
}

TEST(UtilFile, MakePrivateDirTightensAnEmptyExistingDirThatMustBeEmpty) {
  TempDir dir;
  fs::create_directory(dir / "e");
  fs::permissions(dir / "e", fs::perms::all);
  ASSERT_TRUE(make_private_dir(dir / "e", true));
  EXPECT_EQ(mode_of(dir / "e"), 0700u);
}

TEST(UtilFile, MakePrivateDirRefusesANonEmptyDir) {
  TempDir dir;
  fs::create_directory(dir / "full");
  put_file(dir / "full" / "b", "x");
  put_file(dir / "full" / "a", "x");
  auto st = make_private_dir(dir / "full", true);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().exit, Exit::bad_input);
  EXPECT_THAT(st.error().what, HasSubstr("is not empty (2 entries, first: a)"));
}

TEST(UtilFile, MakePrivateDirLeavesAnExistingSharedDirAlone) {
  // A work dir given by the user (even /tmp) must not have its mode changed.
  TempDir dir;
  fs::create_directory(dir / "shared");
  fs::permissions(dir / "shared", fs::perms::all | fs::perms::sticky_bit);
  put_file(dir / "shared" / "x", "x");
  ASSERT_TRUE(make_private_dir(dir / "shared", false));
  EXPECT_EQ(mode_of(dir / "shared"), 01777u);
  EXPECT_EQ(slurp(dir / "shared" / "x"), "x");
}

TEST(UtilFile, MakePrivateDirRefusesAFileAndASymlink) {
  TempDir dir;
  put_file(dir / "file", "x");
  auto st = make_private_dir(dir / "file", false);
  ASSERT_FALSE(st);
  fs::create_directory(dir / "real");
  fs::create_directory_symlink(dir / "real", dir / "link");
  st = make_private_dir(dir / "link", true);
  ASSERT_FALSE(st);
  EXPECT_THAT(st.error().what, HasSubstr("is not a directory"));
}

TEST(UtilFile, ListDirIsSortedAndDirSizeCountsRegularFiles) {
  TempDir dir;
  put_file(dir / "b", std::string(10, 'x'));
  put_file(dir / "a", std::string(5, 'x'));
  fs::create_directory(dir / "c");
  put_file(dir / "c" / "deep", std::string(100, 'x'));
  EXPECT_THAT(*list_dir(dir.path()), ElementsAre("a", "b", "c"));
  EXPECT_EQ(*dir_size(dir.path()), 15u);
  EXPECT_FALSE(list_dir(dir / "missing"));
}

TEST(UtilFile, TmpfsDetection) {
  EXPECT_TRUE(is_on_tmpfs("/dev/shm"));
  EXPECT_TRUE(is_on_tmpfs("/dev/shm/does/not/exist"));
  EXPECT_FALSE(is_on_tmpfs("/proc"));
}
