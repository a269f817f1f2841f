// runtime/lock and runtime/paths: the per-container lock and its place in the run directory.
#include "container_fakes.hpp"
#include "runtime/lock.hpp"
#include "runtime/paths.hpp"
#include "util/file.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

using namespace gpucr;
using namespace gpucr::runtime;
using gpucr::ctrtest::TempDir;

static RunDir run_in(const fs::path& dir) { return RunDir(dir, ::geteuid()); }

static mode_t mode_of(const fs::path& p) {
  struct stat st {};
  ::stat(p.c_str(), &st);
  return st.st_mode & 07777;
}

TEST(ContainerLock, AcquireCreatesPrivateDirectoriesAndNamesTheHolderInTheFile) {
  TempDir t;
  RunDir run = run_in(t / "run");
  auto lock = lock_container(run, "c1", "checkpoint", std::chrono::milliseconds(0));
  ASSERT_TRUE(lock) << lock.error().what;
  EXPECT_EQ(mode_of(run.root()), 0700u);
  EXPECT_EQ(mode_of(run.containers()), 0700u);
  auto text = read_file(container_lock_file(run, "c1"));
  ASSERT_TRUE(text);
  EXPECT_NE(text->find("pid=" + std::to_string(::getpid())), std::string::npos);
  EXPECT_NE(text->find("op=checkpoint"), std::string::npos);
}

TEST(ContainerLock, SecondAcquireWaitsThenFailsNamingTheHolder) {
  TempDir t;
  auto first = lock_container(run_in(t.path()), "c1", "checkpoint", std::chrono::milliseconds(0));
  ASSERT_TRUE(first);
  auto t0 = std::chrono::steady_clock::now();
  auto second = lock_container(run_in(t.path()), "c1", "restore", std::chrono::milliseconds(300));
  auto waited = std::chrono::steady_clock::now() - t0;
  ASSERT_FALSE(second);
  EXPECT_GE(waited, std::chrono::milliseconds(300));
  EXPECT_NE(second.error().what.find("container c1 is busy"), std::string::npos);
  EXPECT_NE(second.error().what.find("op=checkpoint"), std::string::npos);
  EXPECT_NE(second.error().hint.find("--lock-wait"), std::string::npos);
}

TEST(ContainerLock, OtherContainersAreNotBlocked) {
  TempDir t;
  auto a = lock_container(run_in(t.path()), "c1", "checkpoint", std::chrono::milliseconds(0));
  auto b = lock_container(run_in(t.path()), "c2", "checkpoint", std::chrono::milliseconds(0));
  EXPECT_TRUE(a);
  EXPECT_TRUE(b);
}

TEST(ContainerLock, ReleasedLockCanBeTakenAgain) {
  TempDir t;
  {
    auto a = lock_container(run_in(t.path()), "c1", "checkpoint", std::chrono::milliseconds(0));
    ASSERT_TRUE(a);
  }
  EXPECT_TRUE(lock_container(run_in(t.path()), "c1", "restore", std::chrono::milliseconds(0)));
}

TEST(ContainerLock, TryAcquireSaysBusyWithoutWaiting) {
  TempDir t;
  auto a = lock_container(run_in(t.path()), "c1", "checkpoint", std::chrono::milliseconds(0));
  ASSERT_TRUE(a);
  auto b = try_lock_container(run_in(t.path()), "c1", "poststop");
  ASSERT_TRUE(b);
  EXPECT_FALSE(b->has_value());
}

TEST(ContainerLock, RemoveFileDeletesItAndANewAcquireMakesAFreshOne) {
  TempDir t;
  auto a = lock_container(run_in(t.path()), "c1", "checkpoint", std::chrono::milliseconds(0));
  ASSERT_TRUE(a);
  a->remove_file();
  EXPECT_FALSE(fs::exists(container_lock_file(run_in(t.path()), "c1")));
  EXPECT_FALSE(a->held());
  EXPECT_TRUE(lock_container(run_in(t.path()), "c1", "restore", std::chrono::milliseconds(0)));
}

TEST(ContainerRunDir, LockFilesAndRecordsLiveUnderContainers) {
  RunDir r("/r", 0);
  EXPECT_EQ(container_lock_file(r, "c1"), fs::path("/r/containers/c1.lock"));
  EXPECT_EQ(container_dir(r, "c1"), fs::path("/r/containers/c1"));
}
