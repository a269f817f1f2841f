// core/pids: who holds the pids a restore needs, and waiting until they are free.
#include "core/pids.hpp"

#include "fakes.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

using namespace gpucr;
using namespace gpucr::fakes;
using namespace std::chrono_literals;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

TEST(CorePids, FreePidsHaveNoHolders) {
  FakeProcessTable t;
  t.add(1, 0, "init");
  EXPECT_THAT(pid_holders(t, {100, 101}), IsEmpty());
}

TEST(CorePids, NamesAZombieAndItsParent) {
  FakeProcessTable t;
  t.add(1, 0, "init");
  t.add(100, 1, "tree_workload");
  t.make_zombie(100);
  EXPECT_THAT(pid_holders(t, {100}),
              ElementsAre("pid 100 is in use by pid 100 (tree_workload), a zombie not yet reaped by its parent pid 1"));
}

TEST(CorePids, NamesALiveProcess) {
  FakeProcessTable t;
  t.add(100, 1, "other");
  EXPECT_THAT(pid_holders(t, {100}), ElementsAre("pid 100 is in use by pid 100 (other)"));
}

TEST(CorePids, NamesSessionAndProcessGroupHolders) {
  FakeProcessTable t;
  t.add(300, 1, "escaped");  // left the dumped tree but kept its session id
  t.at(300).info.sid = 100;
  t.at(300).info.pgid = 300;
  t.add(301, 1, "grouped");  // kept its process group id
  t.at(301).info.sid = 301;
  t.at(301).info.pgid = 101;
  t.add(302, 1, "unrelated");
  EXPECT_THAT(pid_holders(t, {100, 101}),
              ElementsAre("pid 100 is the session id of pid 300 (escaped)",
                          "pid 101 is the process group id of pid 301 (grouped)"));
}

TEST(CorePids, WaitReturnsOnceTheZombieIsReaped) {
  FakeProcessTable t;
  t.add(100, 1, "w");
  t.make_zombie(100);
  t.vanish_after(100, 3);
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_TRUE(wait_for_free_pids(t, {100}, 5s));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s);
  EXPECT_FALSE(t.has(100));
}

TEST(CorePids, WaitTimesOutNamingTheHolders) {
  FakeProcessTable t;
  t.add(100, 1, "stuck");
  t.make_zombie(100);
  auto t0 = std::chrono::steady_clock::now();
  auto st = wait_for_free_pids(t, {100}, 120ms);
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 120ms);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().exit, Exit::failed);
  EXPECT_THAT(st.error().what, HasSubstr("still in use after 120ms"));
  EXPECT_THAT(st.error().details, ElementsAre(HasSubstr("pid 100 is in use by pid 100 (stuck), a zombie")));
  EXPECT_THAT(st.error().hint, HasSubstr("--pid-wait"));
}
