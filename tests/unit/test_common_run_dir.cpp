// common/run_dir: where gpucr's run directory is, and that gpucr never uses one it can't trust.
#include "common/run_dir.hpp"

#include "support.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace gpucr;
using gpucr::fakes::TempDir;

TEST(RunDir, FollowsAnAbsoluteGpucrRunDir) {
  EXPECT_EQ(*RunDir::path_from("/tmp/x-run"), std::filesystem::path("/tmp/x-run"));
  EXPECT_EQ(*RunDir::path_from(nullptr), std::filesystem::path("/run/gpucr"));
  EXPECT_EQ(*RunDir::path_from(""), std::filesystem::path("/run/gpucr"));
}

TEST(RunDir, ARelativeGpucrRunDirIsAUsageError) {
  auto r = RunDir::path_from("relative");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().exit, Exit::usage);
  EXPECT_NE(r.error().what.find("GPUCR_RUN_DIR must be an absolute path"), std::string::npos);
}

TEST(RunDir, LayoutNamesEachPlace) {
  RunDir r("/r", 0);
  EXPECT_EQ(r.ops(), std::filesystem::path("/r/ops"));
  EXPECT_EQ(r.locks(), std::filesystem::path("/r/locks"));
  EXPECT_EQ(r.containers(), std::filesystem::path("/r/containers"));
  EXPECT_EQ(r.file("recovery.log"), std::filesystem::path("/r/recovery.log"));
}

TEST(RunDir, EnsureCreatesPrivateDirectories) {
  TempDir t;
  RunDir r(t / "a" / "run", ::geteuid());
  ASSERT_TRUE(r.ensure("ops"));
  EXPECT_EQ(fakes::mode_of(r.root()), 0700u);
  EXPECT_EQ(fakes::mode_of(r.ops()), 0700u);
  EXPECT_TRUE(r.ensure("ops"));  // idempotent
}

TEST(RunDir, AnOpenDirectoryIsRefusedAndLeftAlone) {
  TempDir t;
  std::filesystem::create_directory(t / "run");
  ::chmod((t / "run").c_str(), 0777);
  RunDir r(t / "run", ::geteuid());
  auto st = r.ensure("ops");
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().exit, Exit::not_permitted);
  EXPECT_NE(st.error().what.find("open to other users (mode 0777)"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(t / "run" / "ops"));
  EXPECT_EQ(fakes::mode_of(t / "run"), 0777u);
}

TEST(RunDir, ADirectoryOfAnotherUserIsRefused) {
  TempDir t;
  RunDir r(t.path(), ::geteuid() + 1);
  auto st = r.check_existing(t.path());
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().what.find("belongs to uid " + std::to_string(::geteuid())), std::string::npos);
}

TEST(RunDir, ASymlinkOrAFileIsRefused) {
  TempDir t;
  std::filesystem::create_directory(t / "real");
  ::chmod((t / "real").c_str(), 0700);
  std::filesystem::create_directory_symlink(t / "real", t / "link");
  fakes::put_file(t / "file", "x");
  EXPECT_NE(RunDir(t / "link", ::geteuid()).ensure().error().what.find("is a symbolic link"), std::string::npos);
  EXPECT_NE(RunDir(t / "file", ::geteuid()).ensure().error().what.find("is not a directory"), std::string::npos);
}

TEST(RunDir, AMissingDirectoryPassesTheCheckWithoutBeingCreated) {
  TempDir t;
  RunDir r(t / "none", ::geteuid());
  EXPECT_TRUE(r.check_existing(r.root()));
  EXPECT_FALSE(std::filesystem::exists(t / "none"));
}
