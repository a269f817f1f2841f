// criu/runner: picking the Error lines out of criu logs, and running a (fake) criu binary.
#include "criu/runner.hpp"

#include "support.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

using namespace gpucr;
using namespace gpucr::fakes;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::StartsWith;

// Excerpt of a failed `criu restore -v4` log (criu 4.1.1, measured): lines of the main criu
// process and lines logged by restored task 10701.
static const char* kRestoreLog =
    "(00.053860) Warn  (criu/util.c:1530): some warning\n"
    "(00.053867) Error (criu/util.c:1533): rlimit: Can't setup RLIMIT_NOFILE for self: Operation not permitted\n"
    "(00.066444)  10701: \t\tCreate fd for 6\n"
    "(00.066474)  10701: Error (criu/files-reg.c:2353): Can't open file tmp/t2/status.data on restore: No such "
    "file or directory\n"
    "(00.066478)  10701: Error (criu/files.c:1221): Unable to open fd=7 id=0xa\n"
    "(00.066567) Error (criu/cr-restore.c:2320): Restoring FAILED.\n";

TEST(CriuRunner, ErrorLinesDropTimestampsTaskPidsAndTheHarmlessRlimitLine) {
  EXPECT_THAT(criu::error_lines(kRestoreLog),
              ElementsAre("Error (criu/files-reg.c:2353): Can't open file tmp/t2/status.data on restore: No such file "
                          "or directory",
                          "Error (criu/files.c:1221): Unable to open fd=7 id=0xa",
                          "Error (criu/cr-restore.c:2320): Restoring FAILED."));
}

TEST(CriuRunner, ErrorLinesWithoutTimestamps) {
  EXPECT_THAT(criu::error_lines("Warn (x.c:1): w\nError (criu/cr-dump.c:2093): Dumping FAILED.\nError: bad option\n"),
              ElementsAre("Error (criu/cr-dump.c:2093): Dumping FAILED.", "Error: bad option"));
}

TEST(CriuRunner, ErrorLinesIgnoreMentionsOfErrorInsideLines) {
  EXPECT_THAT(criu::error_lines("(00.1) Checking Error (not one)\n(00.2) 12x: Error (a): b\n"), IsEmpty());
}

// The freeze timeout of runc's criu in the Debian unstable root, its dump.log at -v4 (criu 4.2.1):
// a busybox sh in vfork's wait with its child frozen before exec.
TEST(CriuRunner, ExplainNamesTheTaskCriuCouldNotSeizeInStateD) {
  auto lines = criu::error_lines(
      "(10.007813) Error (criu/cr-dump.c:1655): Timeout reached. Try to interrupt: 0\n"
      "(10.007861) Error (compel/src/lib/infect.c:262): Unseizable non-zombie 660 found, state D, err 0/0\n");
  auto why = criu::explain(lines);
  ASSERT_TRUE(why.has_value());
  EXPECT_THAT(*why, StartsWith("pid 660 stayed in uninterruptible sleep (state D)"));
  EXPECT_THAT(*why, HasSubstr("vfork"));
  EXPECT_THAT(*why, HasSubstr("/proc/660/stack"));
}

TEST(CriuRunner, ExplainKnowsNothingOfOtherFailures) {
  EXPECT_FALSE(criu::explain({}).has_value());
  EXPECT_FALSE(criu::explain({"Error (criu/cr-dump.c:2093): Dumping FAILED."}).has_value());
  // Another state is another story (a stopped or traced task), and a malformed pid is no pid.
  EXPECT_FALSE(criu::explain({"Error (compel/src/lib/infect.c:262): Unseizable non-zombie 15 found, state S"}).has_value());
  EXPECT_FALSE(criu::explain({"Error (x): Unseizable non-zombie 1x5 found, state D"}).has_value());
  EXPECT_FALSE(criu::explain({"Error (x): Unseizable non-zombie  found, state D"}).has_value());
}

TEST(CriuRunner, ErrorLinesAreCappedAtTwenty) {
  std::string log;
  for (int i = 0; i < 30; ++i) log += "(00.00" + std::to_string(i) + ") Error (f.c:" + std::to_string(i) + "): e\n";
  auto lines = criu::error_lines(log);
  ASSERT_EQ(lines.size(), 20u);
  EXPECT_EQ(lines.front(), "Error (f.c:0): e");
  EXPECT_EQ(lines.back(), "Error (f.c:19): e");
  EXPECT_EQ(criu::error_lines(log, 3).size(), 3u);
}

namespace {
// An ExecRunner around a shell script standing in for criu.
criu::ExecRunner script_runner(const TempDir& dir, const std::string& body) {
  fs::path p = dir / "criu";
  put_file(p, "#!/bin/sh\n" + body);
  fs::permissions(p, fs::perms::owner_all);
  return criu::ExecRunner(criu::Binary{p, {4, 1, 1}, "test"});
}
}  // namespace

TEST(CriuRunner, ExecRunnerPassesArgsAndEnvAndReadsTheLog) {
  TempDir dir;
  auto runner = script_runner(dir, "echo \"$@ $GPUCR_TEST_VAR\" > \"$(dirname \"$0\")/argv\"\n"
                                   "printf '(00.1) Error (a.c:1): it broke\\n' > \"$(dirname \"$0\")/dump.log\"\n"
                                   "exit 1\n");
  pid_t seen = 0;
  auto out = runner.run({{"dump", "--tree", "5"}, dir / "dump.log", {{"GPUCR_TEST_VAR", "v"}}},
                        [&](pid_t p) { seen = p; });
  ASSERT_TRUE(out) << out.error().what;
  EXPECT_GT(seen, 0);
  EXPECT_EQ(out->status.code, 1);
  EXPECT_THAT(out->error_lines, ElementsAre("Error (a.c:1): it broke"));
  EXPECT_EQ(slurp(dir / "argv"), "dump --tree 5 v\n");
}

TEST(CriuRunner, ExecRunnerFallsBackToCriuOutputWhenTheLogHasNoErrors) {
  TempDir dir;
  auto runner = script_runner(dir, "echo 'unknown option --bogus' >&2\nexit 1\n");
  auto out = runner.run({{"dump"}, dir / "dump.log", {}}, {});
  ASSERT_TRUE(out);
  EXPECT_FALSE(out->status.success());
  EXPECT_THAT(out->error_lines, ElementsAre("unknown option --bogus"));
  EXPECT_TRUE(fs::exists(dir / "dump.log.out"));
}

TEST(CriuRunner, ExecRunnerReportsSuccess) {
  TempDir dir;
  auto runner = script_runner(dir, "exit 0\n");
  auto out = runner.run({{"restore"}, dir / "restore.log", {}}, {});
  ASSERT_TRUE(out);
  EXPECT_TRUE(out->status.success());
  EXPECT_THAT(out->error_lines, IsEmpty());
}
