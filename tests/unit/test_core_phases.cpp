// core/phases: steps in order, stop at the first failure, `always` steps, cancellation.
#include "core/phases.hpp"

#include "fakes.hpp"
#include "util/signals.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <csignal>

using namespace gpucr;
using namespace gpucr::fakes;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

namespace {
Status ok() { return {}; }
Status bad(const std::string& what, Exit exit = Exit::failed) { return fail(Error(what, exit)); }

std::vector<std::string> names(const Phases& p) {
  std::vector<std::string> out;
  for (const auto& t : p.timings()) out.push_back(t.name + (t.ok ? "" : "!"));
  return out;
}
}  // namespace

TEST(CorePhases, AllStepsRunInOrderAndAreTimed) {
  RecordingProgress progress;
  Phases p(progress);
  std::vector<int> order;
  p.step("a", [&] { order.push_back(1); return ok(); });
  p.step("b", [&] { order.push_back(2); return ok(); }, [] { return std::string("detail"); });
  p.always("c", [&] { order.push_back(3); return ok(); });
  EXPECT_THAT(order, ElementsAre(1, 2, 3));
  EXPECT_THAT(names(p), ElementsAre("a", "b", "c"));
  EXPECT_THAT(progress.begun, ElementsAre("a", "b", "c"));
  EXPECT_THAT(progress.ended, ElementsAre("a", "b", "c"));
  EXPECT_FALSE(p.failed());
  EXPECT_TRUE(p.result());
}

TEST(CorePhases, StepsStopAtTheFirstFailureButAlwaysRuns) {
  RecordingProgress progress;
  Phases p(progress);
  bool third = false, cleanup = false;
  p.step("one", ok);
  p.step("two", [] { return bad("two broke", Exit::bad_input); });
  p.step("three", [&] { third = true; return ok(); });
  p.always("cleanup", [&] { cleanup = true; return ok(); });
  EXPECT_FALSE(third);
  EXPECT_TRUE(cleanup);
  EXPECT_THAT(names(p), ElementsAre("one", "two!", "cleanup"));
  EXPECT_THAT(progress.ok_flags, ElementsAre(true, false, true));
  ASSERT_FALSE(p.result());
  EXPECT_EQ(p.result().error().what, "two broke");
  EXPECT_EQ(p.result().error().exit, Exit::bad_input);
}

TEST(CorePhases, CleanupFailureIsAppendedToTheFirstError) {
  RecordingProgress progress;
  Phases p(progress);
  p.step("dump", [] {
    Error e("dump failed");
    e.details = {"Error (x.c:1): y"};
    return Status(fail(std::move(e)));
  });
  p.always("thaw", [] {
    Error e("cannot thaw /sys/fs/cgroup/x");
    e.details = {"EBUSY"};
    return Status(fail(std::move(e)));
  });
  auto r = p.result();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().what, "dump failed");
  EXPECT_EQ(r.error().exit, Exit::failed);
  EXPECT_THAT(r.error().details,
              ElementsAre("Error (x.c:1): y", "thaw also failed: cannot thaw /sys/fs/cgroup/x", "  EBUSY"));
}

TEST(CorePhases, RollbackIncompleteFromCleanupRaisesTheExitCode) {
  RecordingProgress progress;
  Phases p(progress);
  p.step("dump", [] { return bad("dump failed", Exit::failed); });
  p.always("restore gpu", [] { return bad("pid 5 stays locked", Exit::rollback_incomplete); });
  ASSERT_FALSE(p.result());
  EXPECT_EQ(p.result().error().what, "dump failed");
  EXPECT_EQ(p.result().error().exit, Exit::rollback_incomplete);
}

TEST(CorePhases, AlwaysFailureWithoutEarlierFailureIsTheError) {
  RecordingProgress progress;
  Phases p(progress);
  p.step("a", ok);
  p.always("b", [] { return bad("b broke", Exit::rollback_incomplete); });
  bool after = false;
  p.step("c", [&] { after = true; return ok(); });
  EXPECT_FALSE(after);
  ASSERT_FALSE(p.result());
  EXPECT_EQ(p.result().error().what, "b broke");
  EXPECT_EQ(p.result().error().exit, Exit::rollback_incomplete);
}

TEST(CorePhases, CancellationFailsTheNextStepAndAlwaysStillRuns) {
  signals::install_cancel_handlers();
  RecordingProgress progress;
  Phases p(progress);
  bool second = false, cleanup = false;
  p.step("first", [] {
    std::raise(SIGTERM);  // as if the user pressed ^C during this step
    return ok();
  });
  p.step("second", [&] { second = true; return ok(); });
  p.always("cleanup", [&] { cleanup = true; return ok(); });
  EXPECT_TRUE(signals::cancel_requested());
  EXPECT_EQ(signals::cancel_signal(), SIGTERM);
  signals::clear();
  std::signal(SIGTERM, SIG_DFL);
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGHUP, SIG_DFL);
  EXPECT_FALSE(second);
  EXPECT_TRUE(cleanup);
  EXPECT_THAT(names(p), ElementsAre("first", "cleanup"));
  ASSERT_FALSE(p.result());
  EXPECT_THAT(p.result().error().what, HasSubstr("interrupted by SIGTERM before second"));
}
