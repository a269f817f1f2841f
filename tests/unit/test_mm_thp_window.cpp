// mm/thp_window: the shared huge-page window over a fake THP setting, a fake process table and a
// temporary run directory.
#include "mm/thp_window.hpp"

#include "fakes.hpp"
#include "support.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <unistd.h>

using namespace gpucr;
using namespace gpucr::fakes;
using mm::ThpMode;
using mm::ThpWindow;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

namespace {

class Window : public ::testing::Test {
 protected:
  void SetUp() override {
    procs.add(1, 0, "init");
    procs.add(500, 1, "gpucr-a");
    procs.add(600, 1, "gpucr-b");
  }
  proc::ProcessId id(pid_t pid) { return {pid, 100000 + static_cast<std::uint64_t>(pid)}; }
  mm::WindowSeams seams() { return {&thp, procs, run}; }
  // Opens for `op` run by `pid`; records what the journal was told.
  mm::WindowOpen open(const std::string& op, pid_t pid, ThpWindow want = ThpWindow::on, bool root = true) {
    return mm::open_window(seams(), want, root, op, id(pid), [&](ThpMode m) {
      journaled.push_back(m);
      return journal_status;
    });
  }
  fs::path record() { return run.thp() / "original"; }

  TempDir tmp;
  FakeThp thp;
  FakeProcessTable procs;
  RunDir run{tmp.path() / "run", ::geteuid()};
  std::vector<ThpMode> journaled;
  Status journal_status;
};

}  // namespace

TEST_F(Window, FirstHolderRecordsTheModeAndWritesAlways) {
  auto w = open("checkpoint-500-a", 500);
  ASSERT_TRUE(w.original) << w.note;
  EXPECT_EQ(*w.original, ThpMode::madvise);
  EXPECT_EQ(w.note, "THP window: madvise -> always");
  EXPECT_THAT(thp.writes, ElementsAre(ThpMode::always));
  EXPECT_THAT(journaled, ElementsAre(ThpMode::madvise));  // journaled before the change
  EXPECT_EQ(slurp(record()), "madvise\n");
  EXPECT_EQ(slurp(run.thp() / "checkpoint-500-a.holder"), "pid=500 start=100500\n");
  EXPECT_EQ(mode_of(run.thp()), 0700u);
}

TEST_F(Window, SecondHolderSharesAndTheLastOneOutRestores) {
  ASSERT_TRUE(open("checkpoint-500-a", 500).original);
  auto b = open("restore-600-b", 600);
  ASSERT_TRUE(b.original);
  EXPECT_EQ(*b.original, ThpMode::madvise);  // the first holder's record, not `always`
  EXPECT_THAT(b.note, HasSubstr("shared with 1 other"));
  EXPECT_THAT(thp.writes, ElementsAre(ThpMode::always));

  auto first_out = mm::close_window(seams(), "checkpoint-500-a");
  ASSERT_TRUE(first_out) << first_out.error().what;
  EXPECT_THAT(*first_out, HasSubstr("1 other operation(s) hold it open"));
  EXPECT_EQ(thp.current, ThpMode::always);

  auto last_out = mm::close_window(seams(), "restore-600-b");
  ASSERT_TRUE(last_out);
  EXPECT_THAT(*last_out, HasSubstr("mode is madvise again"));
  EXPECT_EQ(thp.current, ThpMode::madvise);
  EXPECT_THAT(thp.writes, ElementsAre(ThpMode::always, ThpMode::madvise));
  EXPECT_FALSE(fs::exists(record()));
  EXPECT_FALSE(fs::exists(run.thp() / "restore-600-b.holder"));
}

TEST_F(Window, AlreadyAlwaysWritesNothing) {
  thp.current = ThpMode::always;
  auto w = open("checkpoint-500-a", 500);
  EXPECT_FALSE(w.original);
  EXPECT_FALSE(w.warning);  // nothing to do is not a warning
  EXPECT_THAT(w.note, HasSubstr("`always` already"));
  EXPECT_THAT(thp.writes, IsEmpty());
  EXPECT_THAT(journaled, IsEmpty());
  EXPECT_FALSE(fs::exists(record()));
}

TEST_F(Window, NeverOpensOnlyWithForce) {
  thp.current = ThpMode::never;
  auto w = open("checkpoint-500-a", 500);
  EXPECT_FALSE(w.original);
  EXPECT_TRUE(w.warning);
  EXPECT_THAT(w.note, HasSubstr("--thp-window=force"));
  EXPECT_THAT(thp.writes, IsEmpty());

  auto forced = open("checkpoint-500-a", 500, ThpWindow::force);
  ASSERT_TRUE(forced.original);
  EXPECT_EQ(*forced.original, ThpMode::never);
  EXPECT_EQ(thp.current, ThpMode::always);
  ASSERT_TRUE(mm::close_window(seams(), "checkpoint-500-a"));
  EXPECT_EQ(thp.current, ThpMode::never);
}

TEST_F(Window, StaleHolderOfADeadProcessIsIgnoredAndItsWindowClosedByTheNext) {
  ASSERT_TRUE(open("checkpoint-500-a", 500).original);
  procs.remove(500);  // gpucr A was SIGKILLed; nobody closed its window
  auto b = open("restore-600-b", 600);
  ASSERT_TRUE(b.original);
  EXPECT_EQ(*b.original, ThpMode::madvise);  // the crashed window's record is kept
  EXPECT_THAT(b.note, HasSubstr("its recorded mode is kept"));
  EXPECT_FALSE(fs::exists(run.thp() / "checkpoint-500-a.holder"));  // dropped
  ASSERT_TRUE(mm::close_window(seams(), "restore-600-b"));
  EXPECT_EQ(thp.current, ThpMode::madvise);
  EXPECT_FALSE(fs::exists(record()));
}

TEST_F(Window, HolderWithARecycledPidIsStale) {
  ASSERT_TRUE(open("checkpoint-500-a", 500).original);
  procs.add(500, 1, "other").info.start_time = 7;  // pid 500 now names another process
  auto r = mm::close_window(seams(), "unrelated-op");
  ASSERT_TRUE(r);
  EXPECT_EQ(thp.current, ThpMode::madvise);
}

TEST_F(Window, CrashedWindowWithNoHolderKeepsItsOriginal) {
  // A gpucr died between recording the mode and writing its holder: the host reads `always`.
  ASSERT_TRUE(run.ensure("thp"));
  put_file(record(), "madvise\n");
  thp.current = ThpMode::always;
  auto w = open("checkpoint-500-a", 500);
  ASSERT_TRUE(w.original) << w.note;
  EXPECT_EQ(*w.original, ThpMode::madvise);
  ASSERT_TRUE(mm::close_window(seams(), "checkpoint-500-a"));
  EXPECT_EQ(thp.current, ThpMode::madvise);
}

TEST_F(Window, CrashedNeverWindowIsPutBackWithoutForce) {
  ASSERT_TRUE(run.ensure("thp"));
  put_file(record(), "never\n");
  thp.current = ThpMode::always;
  auto w = open("checkpoint-500-a", 500);
  EXPECT_FALSE(w.original);
  EXPECT_EQ(thp.current, ThpMode::never);
  EXPECT_FALSE(fs::exists(record()));
}

TEST_F(Window, WriteFailureIsAWarningAndNoWindow) {
  thp.fail_write = true;
  auto w = open("checkpoint-500-a", 500);
  EXPECT_FALSE(w.original);
  EXPECT_TRUE(w.warning);
  EXPECT_THAT(w.note, HasSubstr("Permission denied"));
  EXPECT_FALSE(fs::exists(record()));
  EXPECT_FALSE(fs::exists(run.thp() / "checkpoint-500-a.holder"));
}

TEST_F(Window, MissingFileIsAWarningAndNoWindow) {
  thp.fail_read = true;
  auto w = open("checkpoint-500-a", 500);
  EXPECT_FALSE(w.original);
  EXPECT_TRUE(w.warning);
  EXPECT_THAT(w.note, HasSubstr("No such file"));
}

TEST_F(Window, NotRootOrNoSeamMeansNoWindow) {
  auto w = open("checkpoint-500-a", 500, ThpWindow::on, /*root=*/false);
  EXPECT_FALSE(w.original);
  EXPECT_THAT(w.note, HasSubstr("needs root"));
  auto none = mm::open_window({nullptr, procs, run}, ThpWindow::on, true, "op", id(500), [](ThpMode) { return Status{}; });
  EXPECT_FALSE(none.original);
  EXPECT_THAT(thp.writes, IsEmpty());
}

TEST_F(Window, FailedJournalMeansNoWindow) {
  journal_status = fail(Error("disk full"));
  auto w = open("checkpoint-500-a", 500);
  EXPECT_FALSE(w.original);
  EXPECT_THAT(w.note, HasSubstr("disk full"));
  EXPECT_THAT(thp.writes, IsEmpty());
}

TEST_F(Window, CloseFailureKeepsTheRecordForAnotherTry) {
  ASSERT_TRUE(open("checkpoint-500-a", 500).original);
  thp.fail_write = true;
  EXPECT_FALSE(mm::close_window(seams(), "checkpoint-500-a"));
  EXPECT_TRUE(fs::exists(record()));
  thp.fail_write = false;
  ASSERT_TRUE(mm::close_window(seams(), "checkpoint-500-a"));
  EXPECT_EQ(thp.current, ThpMode::madvise);
}

TEST_F(Window, BadOperationIdsNeverReachAPath) {
  auto w = open("../escape", 500);
  EXPECT_FALSE(w.original);
  EXPECT_FALSE(mm::close_window(seams(), "../escape"));
}
