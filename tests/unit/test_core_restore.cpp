// core/restore: the restore driver with a fake process table and a fake criu, on a hand-built
// image directory (inventory.img, pstree.img, gpucr-manifest).
#include "core/restore.hpp"

#include "core/manifest.hpp"
#include "fakes.hpp"
#include "support.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cctype>

#include <sys/wait.h>
#include <unistd.h>

using namespace gpucr;
using namespace gpucr::fakes;
using namespace std::chrono_literals;
using ::testing::ElementsAre;
using ::testing::Not;
using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

namespace {

class RestoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    procs.add(1, 0, "init");
    images = tmp / "images";
    fs::create_directory(images);
    put_file(images / "inventory.img", inventory_empty_plugins());
    put_file(images / "pstree.img", pstree_image({{4100, 0, {4100, 4103}}, {4101, 4100, {4101}}, {4102, 4100, {4102}}}));
    pb::Manifest m;
    m.mutable_target()->set_root_pid(4100);
    m.mutable_flags()->set_tcp_established(true);
    m.mutable_flags()->set_file_locks(true);
    ASSERT_TRUE(write_manifest(images, m));
    opts.image_dir = images;
    opts.pid_wait = 5s;
  }

  // A criu restore that succeeds: the restored root exists and its pid is where --pidfile says.
  FakeCriuRunner::Script restore_writes_pidfile(const std::string& content = "4100") {
    return FakeCriuRunner::succeed([this, content](const criu::Invocation& inv) {
      if (std::isdigit(static_cast<unsigned char>(content[0]))) procs.add(std::stoi(content), 1, "restored");
      put_file(*FakeCriuRunner::arg_after(inv, "--pidfile"), content);
    });
  }

  RestoreReport run() { return restore(opts, host); }

  TempDir tmp;
  fs::path images;
  FakeHost fake;
  FakeProcessTable& procs = fake.procs;
  FakeCriuRunner& criu = fake.criu;
  RecordingProgress& progress = fake.progress;
  Host& host = fake.host;
  RestoreRequest opts;
};

}  // namespace

TEST_F(RestoreTest, RunsCriuRestoreWithTheDumpFlagsOredIn) {
  opts.criu.shell_job = true;  // given on the command line
  criu.push(restore_writes_pidfile());
  auto r = run();
  ASSERT_TRUE(r.status) << r.status.error().what;
  ASSERT_EQ(criu.invocations.size(), 1u);
  const auto& inv = criu.invocations[0];
  ASSERT_GE(inv.args.size(), 12u);
  EXPECT_THAT(std::vector<std::string>(inv.args.begin(), inv.args.begin() + 12),
              ElementsAre("restore", "--images-dir", images.string(), "--work-dir", images.string(), "--log-file",
                          "restore.log", "-v2", "--restore-detached", "--restore-sibling", "--pidfile",
                          (images / "restore.pid").string()));
  for (const char* flag : {"--tcp-established", "--shell-job", "--file-locks"}) EXPECT_THAT(inv.args, Contains(flag));
  EXPECT_THAT(inv.args, Not(Contains("--ext-unix-sk")));
  EXPECT_EQ(inv.log, images / "restore.log");
  EXPECT_EQ(r.root_pid, 4100);
  EXPECT_EQ(r.criu_log, images / "restore.log");
  ASSERT_TRUE(r.manifest.has_value());
  EXPECT_EQ(r.manifest->target().root_pid(), 4100);
  std::vector<std::string> names;
  for (const auto& p : r.phases) names.push_back(p.name);
  EXPECT_TRUE(in_order(names, {"read image", "wait for pids", "criu restore", "write pid file"}));
}

TEST_F(RestoreTest, WritesThePidFile) {
  opts.pid_file = tmp / "root.pid";
  criu.push(restore_writes_pidfile("4100\n"));
  auto r = run();
  ASSERT_TRUE(r.status) << r.status.error().what;
  EXPECT_EQ(slurp(tmp / "root.pid"), "4100\n");
}

TEST_F(RestoreTest, WaitsUntilTheZombiesOfTheDumpedTreeAreGone) {
  procs.add(4101, 1, "echo");
  procs.make_zombie(4101);
  procs.vanish_after(4101, 4);
  procs.add(4103, 1, "thread-holder");  // a thread id of the root, held by another process
  procs.vanish_after(4103, 2);
  criu.push(restore_writes_pidfile());
  auto r = run();
  ASSERT_TRUE(r.status) << r.status.error().what;
  EXPECT_FALSE(procs.has(4101));
  EXPECT_FALSE(procs.has(4103));
  EXPECT_EQ(criu.invocations.size(), 1u);
}

TEST_F(RestoreTest, PidsStillInUseFailBeforeCriuRuns) {
  procs.add(4102, 1, "stuck");
  procs.make_zombie(4102);
  procs.add(5000, 1, "escaped").info.sid = 4100;
  opts.pid_wait = 100ms;
  auto r = run();
  ASSERT_FALSE(r.status);
  EXPECT_EQ(r.status.error().exit, Exit::failed);
  EXPECT_THAT(r.status.error().what, HasSubstr("still in use"));
  EXPECT_THAT(r.status.error().details,
              ElementsAre(HasSubstr("pid 4102 is in use by pid 4102 (stuck), a zombie"),
                          "pid 4100 is the session id of pid 5000 (escaped)"));
  EXPECT_THAT(criu.invocations, IsEmpty());
}

TEST_F(RestoreTest, MissingImageDirIsBadInput) {
  opts.image_dir = tmp / "nope";
  auto r = run();
  ASSERT_FALSE(r.status);
  EXPECT_EQ(r.status.error().exit, Exit::bad_input);
  EXPECT_THAT(r.status.error().what, HasSubstr((tmp / "nope").string() + " does not exist"));
  EXPECT_THAT(criu.invocations, IsEmpty());
  EXPECT_FALSE(fs::exists(tmp / "nope"));
}

TEST_F(RestoreTest, CorruptInventoryIsBadInputAndChangesNothing) {
  std::string corrupt = inventory_empty_plugins().substr(0, 9);
  put_file(images / "inventory.img", corrupt);
  auto before = *list_dir(images);
  auto r = run();
  ASSERT_FALSE(r.status);
  EXPECT_EQ(r.status.error().exit, Exit::bad_input);
  EXPECT_THAT(r.status.error().what, HasSubstr((images / "inventory.img").string()));
  EXPECT_THAT(criu.invocations, IsEmpty());
  EXPECT_EQ(slurp(images / "inventory.img"), corrupt);
  EXPECT_EQ(*list_dir(images), before);
}

TEST_F(RestoreTest, CorruptManifestIsBadInput) {
  std::string m = slurp(images / "gpucr-manifest");
  m.back() = static_cast<char>(m.back() ^ 1);
  put_file(images / "gpucr-manifest", m);
  auto r = run();
  ASSERT_FALSE(r.status);
  EXPECT_EQ(r.status.error().exit, Exit::bad_input);
  EXPECT_THAT(r.status.error().what, HasSubstr("checksum mismatch"));
  EXPECT_THAT(criu.invocations, IsEmpty());
}

TEST_F(RestoreTest, MissingPstreeIsBadInput) {
  fs::remove(images / "pstree.img");
  auto r = run();
  ASSERT_FALSE(r.status);
  EXPECT_EQ(r.status.error().exit, Exit::bad_input);
  EXPECT_THAT(r.status.error().what, HasSubstr("pstree.img"));
}

TEST_F(RestoreTest, ImageWithoutManifestUsesOnlyTheGivenFlags) {
  fs::remove(images / "gpucr-manifest");
  criu.push(restore_writes_pidfile());
  auto r = run();
  ASSERT_TRUE(r.status) << r.status.error().what;
  EXPECT_FALSE(r.manifest.has_value());
  const auto& inv = criu.invocations.at(0);
  EXPECT_FALSE(FakeCriuRunner::has_arg(inv, "--tcp-established"));
  EXPECT_FALSE(FakeCriuRunner::has_arg(inv, "--file-locks"));
}

TEST_F(RestoreTest, CriuFailureGivesTheLogLinesAndHint) {
  criu.push(FakeCriuRunner::exit_with(1, {"Error (criu/cr-restore.c:1): Can't fork for PID 4100: File exists"}));
  auto r = run();
  ASSERT_FALSE(r.status);
  EXPECT_EQ(r.status.error().what, "criu restore of " + images.string() + " failed (exit code 1)");
  EXPECT_THAT(r.status.error().details, ElementsAre(HasSubstr("Can't fork for PID")));
  EXPECT_THAT(r.status.error().hint, HasSubstr((images / "restore.log").string()));
  EXPECT_EQ(r.root_pid, 0);
}

TEST_F(RestoreTest, GarbagePidfileIsAnError) {
  opts.pid_file = tmp / "root.pid";
  criu.push(restore_writes_pidfile("not a pid"));
  auto r = run();
  ASSERT_FALSE(r.status);
  EXPECT_THAT(r.status.error().what, HasSubstr("restored root pid"));
  EXPECT_FALSE(fs::exists(tmp / "root.pid"));
}

TEST_F(RestoreTest, SeparateWorkDirHoldsLogAndPidfile) {
  opts.work_dir = tmp / "work";
  criu.push(restore_writes_pidfile());
  auto r = run();
  ASSERT_TRUE(r.status) << r.status.error().what;
  const auto& inv = criu.invocations.at(0);
  EXPECT_EQ(FakeCriuRunner::arg_after(inv, "--work-dir"), (tmp / "work").string());
  EXPECT_EQ(FakeCriuRunner::arg_after(inv, "--pidfile"), (tmp / "work" / "restore.pid").string());
  EXPECT_EQ(inv.log, tmp / "work" / "restore.log");
  EXPECT_EQ(mode_of(tmp / "work"), 0700u);
}

namespace {

// The real process seams (/proc, signals and waitpid) for the tests of the foreground wait.
struct RealProcesses {
  FakeHost f;
  proc::ProcFs procs;
  proc::SystemControl control{procs};
  SteadyTime time;
  Host host{.procs = procs,
            .control = control,
            .privileges = f.privileges,
            .time = time,
            .criu = f.criu,
            .progress = f.progress,
            .gpus = f.gpus,
            .cuda_backends = f.cuda_backends,
            .freezer = f.freezer,
            .handlers = f.handlers,
            .runtimes = f.seams.runtimes,
            .gpu_devices = f.seams.gpu_devices,
            .run = f.run};
};

}  // namespace

TEST(CoreRestoreWait, WaitForTreeReturnsTheChildsExitStatus) {
  pid_t kid = ::fork();
  ASSERT_GE(kid, 0);
  if (kid == 0) ::_exit(7);
  RealProcesses real;
  ExitStatus s = wait_for_tree(real.host, kid);
  EXPECT_FALSE(s.signaled);
  EXPECT_EQ(s.code, 7);
  EXPECT_EQ(s.shell_code(), 7);
}

TEST(CoreRestoreWait, WaitForTreeReportsASignal) {
  pid_t kid = ::fork();
  ASSERT_GE(kid, 0);
  if (kid == 0) {
    ::pause();
    ::_exit(0);
  }
  ::kill(kid, SIGKILL);
  RealProcesses real;
  ExitStatus s = wait_for_tree(real.host, kid);
  EXPECT_TRUE(s.signaled);
  EXPECT_EQ(s.signal, SIGKILL);
  EXPECT_EQ(s.shell_code(), 128 + 9);
}
