// util/subprocess: spawning argv vectors, capturing output, deadlines, hold/release.
#include "util/subprocess.hpp"

#include "support.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <signal.h>

using namespace gpucr;
using namespace gpucr::fakes;
using namespace std::chrono_literals;
using ::testing::HasSubstr;

TEST(UtilSubprocess, RunCaptureCollectsOutputAndExitCode) {
  auto r = run_capture(Command{.argv = {"sh", "-c", "echo out; echo err >&2; exit 3"}}, 10s);
  ASSERT_TRUE(r) << r.error().what;
  EXPECT_EQ(r->out, "out\n");
  EXPECT_EQ(r->err, "err\n");
  EXPECT_FALSE(r->status.success());
  EXPECT_EQ(r->status.code, 3);
  EXPECT_EQ(r->status.describe(), "exit code 3");
}

TEST(UtilSubprocess, LargeOutputIsReadFully) {
  auto r = run_capture(Command{.argv = {"head", "-c", "1000000", "/dev/zero"}}, 10s);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->out.size(), 1000000u);
  EXPECT_TRUE(r->status.success());
}

TEST(UtilSubprocess, ArgumentsAreNotInterpretedByAShell) {
  auto r = run_capture(Command{.argv = {"echo", "$HOME", "a;b", "*"}}, 10s);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->out, "$HOME a;b *\n");
}

TEST(UtilSubprocess, EnvironmentCwdAndOutputFile) {
  TempDir dir;
  ::setenv("GPUCR_TEST_DROP", "x", 1);
  Command c{.argv = {"sh", "-c", "echo \"$GPUCR_TEST_SET|${GPUCR_TEST_DROP-unset}|$(pwd)\"; echo e >&2"},
            .env = {{"GPUCR_TEST_SET", "v"}},
            .unset_env = {"GPUCR_TEST_DROP"},
            .cwd = dir.path(),
            .stdout_file = dir / "out",
            .stderr_file = "=stdout"};
  auto child = spawn(c);
  ::unsetenv("GPUCR_TEST_DROP");
  ASSERT_TRUE(child);
  EXPECT_TRUE(child->wait().success());
  EXPECT_EQ(slurp(dir / "out"), "v|unset|" + dir.path().string() + "\ne\n");
}

TEST(UtilSubprocess, DeadlineKillsTheChild) {
  auto t0 = Clock::now();
  auto r = run_capture(Command{.argv = {"sleep", "100"}}, 300ms);
  auto took = Clock::now() - t0;
  ASSERT_FALSE(r);
  EXPECT_THAT(r.error().what, HasSubstr("sleep did not finish within 300ms and was killed"));
  EXPECT_LT(took, 5s);
}

TEST(UtilSubprocess, DeadlineKillsEvenWhenTheChildClosedItsOutput) {
  auto r = run_capture(Command{.argv = {"sh", "-c", "exec >&- 2>&-; sleep 100"}}, 300ms);
  ASSERT_FALSE(r);
  EXPECT_THAT(r.error().what, HasSubstr("was killed"));
}

TEST(UtilSubprocess, MissingProgramIsAnErrorNotAnExitCode) {
  auto r = run_capture(Command{.argv = {"/nonexistent/prog"}}, 10s);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().exit, Exit::missing_dependency);
  EXPECT_THAT(r.error().what, HasSubstr("cannot run /nonexistent/prog"));
  auto s = spawn(Command{.argv = {"no-such-program-gpucr-test"}});
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().exit, Exit::missing_dependency);
}

TEST(UtilSubprocess, ExecFailureIsReportedByTheChild) {
  TempDir dir;
  put_file(dir / "noexec", "#!/nonexistent/interpreter\n");
  fs::permissions(dir / "noexec", fs::perms::owner_all);
  auto r = spawn(Command{.argv = {(dir / "noexec").string()}});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().exit, Exit::missing_dependency);
  EXPECT_THAT(r.error().what, HasSubstr("No such file or directory"));
}

TEST(UtilSubprocess, EmptyArgvIsAnInternalError) {
  auto r = spawn(Command{});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().exit, Exit::internal);
}

TEST(UtilSubprocess, HoldWaitsForRelease) {
  TempDir dir;
  auto child = spawn(Command{.argv = {"touch", (dir / "ran").string()}, .hold = true});
  ASSERT_TRUE(child);
  EXPECT_GT(child->pid(), 0);
  EXPECT_FALSE(child->wait_until(Clock::now() + 200ms).has_value());  // still held
  EXPECT_FALSE(fs::exists(dir / "ran"));
  child->release();
  EXPECT_TRUE(child->wait().success());
  EXPECT_TRUE(fs::exists(dir / "ran"));
}

TEST(UtilSubprocess, HeldChildDroppedWithoutReleaseNeverExecs) {
  TempDir dir;
  pid_t pid;
  {
    auto child = spawn(Command{.argv = {"touch", (dir / "ran").string()}, .hold = true});
    ASSERT_TRUE(child);
    pid = child->pid();
  }  // destroyed: killed and reaped
  EXPECT_NE(::kill(pid, 0), 0);
  EXPECT_FALSE(fs::exists(dir / "ran"));
}

TEST(UtilSubprocess, KilledChildReportsTheSignal) {
  auto child = spawn(Command{.argv = {"sleep", "100"}});
  ASSERT_TRUE(child);
  child->kill(SIGTERM);
  ExitStatus s = child->wait();
  EXPECT_TRUE(s.signaled);
  EXPECT_EQ(s.signal, SIGTERM);
  EXPECT_EQ(s.shell_code(), 143);
  EXPECT_THAT(s.describe(), HasSubstr("killed by signal 15"));
  EXPECT_FALSE(child->running());
}

TEST(UtilSubprocess, DestructorKillsAndReapsARunningChild) {
  pid_t pid;
  {
    auto child = spawn(Command{.argv = {"sleep", "100"}});
    ASSERT_TRUE(child);
    pid = child->pid();
  }
  EXPECT_NE(::kill(pid, 0), 0);  // no zombie left either
}

TEST(UtilSubprocess, FindProgram) {
  EXPECT_FALSE(find_program("sh").empty());
  EXPECT_EQ(find_program("/bin/sh"), "/bin/sh");
  EXPECT_TRUE(find_program("/nonexistent").empty());
  EXPECT_TRUE(find_program("").empty());
}
