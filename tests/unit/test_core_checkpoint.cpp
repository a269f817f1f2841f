// core/checkpoint: the checkpoint driver with a fake process table and a fake criu.
#include "core/checkpoint.hpp"
#include "criu/inventory.hpp"

#include "core/manifest.hpp"
#include "fakes.hpp"
#include "support.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <unistd.h>

using namespace gpucr;
using namespace gpucr::fakes;
using ::testing::ElementsAre;
using ::testing::Not;
using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

namespace {

class CheckpointTest : public ::testing::Test {
 protected:
  void SetUp() override {
    procs.add(1, 0, "init");
    procs.add(4100, 1, "tree_workload").info.threads = 2;
    procs.add(4101, 4100, "echo").info.nspid = {4101, 2};
    procs.add(4102, 4100, "idle");
    opts.pid = 4100;
    opts.image_dir = tmp / "images";
  }

  // What a successful criu dump leaves behind: images, its log and stats in the work dir.
  static FakeCriuRunner::Script dump_writes_images() {
    return FakeCriuRunner::succeed([](const criu::Invocation& inv) {
      fs::path images = *FakeCriuRunner::arg_after(inv, "--images-dir");
      fs::path work = *FakeCriuRunner::arg_after(inv, "--work-dir");
      put_file(images / "pages-1.img", std::string(8192, 'p'));
      criu::Inventory inventory;  // criu >= 4.1 writes an empty plugins field
      inventory.entry.set_img_version(2);
      inventory.set_plugins({});
      put_file(images / "inventory.img", criu::serialize_inventory(inventory));
      put_file(work / "dump.log", "(00.1) Dumping finished successfully\n");
      criu::StatsEntry s;
      s.mutable_dump()->set_frozen_time(1234);
      put_file(work / "stats-dump", stats_image(s));
    });
  }

  CheckpointReport run() { return checkpoint(opts, host); }

  TempDir tmp;
  FakeHost fake;
  FakeProcessTable& procs = fake.procs;
  FakeCriuRunner& criu = fake.criu;
  RecordingProgress& progress = fake.progress;
  Host& host = fake.host;
  CheckpointRequest opts;
};

std::vector<std::string> phase_names(const std::vector<PhaseTiming>& phases) {
  std::vector<std::string> out;
  for (const auto& p : phases) out.push_back(p.name + (p.ok ? "" : "!"));
  return out;
}

}  // namespace

TEST_F(CheckpointTest, SuccessRunsCriuDumpWithTheArgvAndWritesTheManifest) {
  criu.push(dump_writes_images());
  auto r = run();
  ASSERT_TRUE(r.status) << r.status.error().what;
  ASSERT_EQ(criu.invocations.size(), 1u);
  const auto& inv = criu.invocations[0];
  ASSERT_GE(inv.args.size(), 10u);
  EXPECT_THAT(std::vector<std::string>(inv.args.begin(), inv.args.begin() + 10),
              ElementsAre("dump", "--tree", "4100", "--images-dir", opts.image_dir.string(), "--work-dir",
                          opts.image_dir.string(), "--log-file", "dump.log", "-v2"));
  EXPECT_THAT(inv.args, Contains("--libdir"));  // a private plugin directory (empty for this tree)
  // Every dump has gpucr's post-dump hook, GPU processes or not: the image is completed (and
  // read back) before criu ends the tree.
  EXPECT_THAT(inv.args, Contains("--action-script"));
  EXPECT_EQ(inv.log, opts.image_dir / "dump.log");
  EXPECT_EQ(r.criu_log, opts.image_dir / "dump.log");
  EXPECT_GE(r.image_bytes, 8192u);
  EXPECT_TRUE(in_order(phase_names(r.phases), {"validate target", "discover processes", "prepare image dir",
                                              "criu dump", "record plugins", "write manifest"}));
  EXPECT_EQ(progress.ended, progress.begun);

  auto m = read_manifest(opts.image_dir);
  ASSERT_TRUE(m) << m.error().what;
  ASSERT_TRUE(m->has_value());
  const pb::Manifest& man = **m;
  EXPECT_EQ(man.criu_version(), "4.1.1");
  EXPECT_FALSE(man.gpucr_version().empty());
  EXPECT_FALSE(man.hostname().empty());
  EXPECT_GT(man.created_unix_ms(), 0);
  EXPECT_EQ(man.target().root_pid(), 4100);
  ASSERT_EQ(man.processes_size(), 3);
  EXPECT_EQ(man.processes(0).pid(), 4100);
  EXPECT_EQ(man.processes(0).threads(), 2);
  EXPECT_EQ(man.processes(1).pid(), 4101);
  EXPECT_THAT(man.processes(1).nspid(), ElementsAre(4101, 2));
  EXPECT_EQ(man.processes(2).comm(), "idle");
  std::vector<std::string> recorded;
  for (const auto& p : man.phases()) recorded.push_back(p.name());
  EXPECT_TRUE(in_order(recorded, {"validate target", "discover processes", "prepare image dir", "criu dump"}));
  EXPECT_THAT(recorded, Not(Contains("write manifest")));
  EXPECT_FALSE(man.flags().leave_running());
  EXPECT_EQ(r.manifest.processes_size(), 3);
}

TEST_F(CheckpointTest, ImageDirIsCreatedPrivate) {
  opts.image_dir = tmp / "a" / "b";
  criu.push(dump_writes_images());
  ASSERT_TRUE(run().status);
  EXPECT_EQ(mode_of(opts.image_dir), 0700u);
}

TEST_F(CheckpointTest, ExistingEmptyImageDirIsTightenedTo0700) {
  fs::create_directory(opts.image_dir);
  fs::permissions(opts.image_dir, fs::perms::all);
  criu.push(dump_writes_images());
  ASSERT_TRUE(run().status);
  EXPECT_EQ(mode_of(opts.image_dir), 0700u);
}

TEST_F(CheckpointTest, NonEmptyImageDirIsRefusedBeforeCriuRuns) {
  fs::create_directory(opts.image_dir);
  put_file(opts.image_dir / "old.img", "keep me");
  auto r = run();
  ASSERT_FALSE(r.status);
  EXPECT_EQ(r.status.error().exit, Exit::bad_input);
  EXPECT_THAT(r.status.error().what, HasSubstr("image directory " + opts.image_dir.string() + " is not empty"));
  EXPECT_THAT(r.status.error().hint, HasSubstr("never overwrites"));
  EXPECT_THAT(criu.invocations, IsEmpty());
  EXPECT_EQ(slurp(opts.image_dir / "old.img"), "keep me");
  EXPECT_THAT(*list_dir(opts.image_dir), ElementsAre("old.img"));
  EXPECT_EQ(phase_names(r.phases).front(), "validate target!");  // refused before anything changed
}

TEST_F(CheckpointTest, GonePidCreatesNothing) {
  opts.pid = 4999;
  auto r = run();
  ASSERT_FALSE(r.status);
  EXPECT_EQ(r.status.error().exit, Exit::bad_input);
  EXPECT_THAT(r.status.error().what, HasSubstr("pid 4999: no such process"));
  EXPECT_THAT(criu.invocations, IsEmpty());
  EXPECT_FALSE(fs::exists(opts.image_dir));
}

TEST_F(CheckpointTest, CriuFailureGivesTheLogLinesAndHintAndNoManifest) {
  criu.push(FakeCriuRunner::exit_with(1, {"Error (criu/sk-unix.c:1): Can't dump external socket",
                                          "Error (criu/cr-dump.c:2): Dumping FAILED."}));
  auto r = run();
  ASSERT_FALSE(r.status);
  const Error& e = r.status.error();
  EXPECT_EQ(e.exit, Exit::failed);
  EXPECT_EQ(e.what, "criu dump of pid 4100 failed (exit code 1)");
  EXPECT_THAT(e.details, ElementsAre(HasSubstr("external socket"), HasSubstr("Dumping FAILED")));
  EXPECT_THAT(e.hint, HasSubstr((opts.image_dir / "dump.log").string()));
  EXPECT_THAT(e.hint, HasSubstr("resumed and keeps running"));
  EXPECT_FALSE(fs::exists(opts.image_dir / kManifestFile));
  EXPECT_TRUE(in_order(phase_names(r.phases), {"validate target", "discover processes", "criu dump!"}));
}

TEST_F(CheckpointTest, CriuKilledBySignalIsDescribed) {
  auto s = FakeCriuRunner::exit_with(0);
  s.outcome->status = ExitStatus{.code = 0, .signal = 9, .signaled = true};
  criu.push(s);
  auto r = run();
  ASSERT_FALSE(r.status);
  EXPECT_THAT(r.status.error().what, HasSubstr("killed by signal 9"));
}

TEST_F(CheckpointTest, CriuThatCannotStartPropagatesItsError) {
  criu.push(FakeCriuRunner::spawn_error(Error("cannot run /fake/criu: No such file", Exit::missing_dependency)));
  auto r = run();
  ASSERT_FALSE(r.status);
  EXPECT_EQ(r.status.error().exit, Exit::missing_dependency);
  EXPECT_FALSE(fs::exists(opts.image_dir / kManifestFile));
}

TEST_F(CheckpointTest, LeaveRunningTimeoutAndCriuFlagsReachArgvAndManifest) {
  opts.leave_running = true;
  opts.criu.timeout_s = 5;
  opts.criu.tcp_established = true;
  opts.criu.shell_job = true;
  opts.criu.ext_unix_sk = true;
  opts.criu.file_locks = true;
  criu.push(dump_writes_images());
  auto r = run();
  ASSERT_TRUE(r.status) << r.status.error().what;
  const auto& inv = criu.invocations.at(0);
  for (const char* flag : {"--leave-running", "--tcp-established", "--shell-job", "--ext-unix-sk", "--file-locks"}) {
    EXPECT_TRUE(FakeCriuRunner::has_arg(inv, flag)) << flag;
  }
  EXPECT_EQ(FakeCriuRunner::arg_after(inv, "--timeout"), "5");
  auto man = **read_manifest(opts.image_dir);
  EXPECT_TRUE(man.flags().leave_running());
  EXPECT_TRUE(man.flags().tcp_established());
  EXPECT_TRUE(man.flags().shell_job());
  EXPECT_TRUE(man.flags().ext_unix_sk());
  EXPECT_TRUE(man.flags().file_locks());
}

TEST_F(CheckpointTest, LeaveRunningFailureHintDoesNotClaimAResume) {
  opts.leave_running = true;
  criu.push(FakeCriuRunner::exit_with(1));
  auto r = run();
  ASSERT_FALSE(r.status);
  EXPECT_THAT(r.status.error().hint, ::testing::Not(HasSubstr("resumed")));
}

TEST_F(CheckpointTest, SeparateWorkDirKeepsTheLogAndCopiesStatsToTheImages) {
  fs::path work = tmp / "work";
  fs::create_directory(work);
  fs::permissions(work, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                            fs::perms::others_read | fs::perms::others_exec);
  put_file(work / "unrelated", "x");
  opts.work_dir = work;
  criu.push(dump_writes_images());
  auto r = run();
  ASSERT_TRUE(r.status) << r.status.error().what;
  const auto& inv = criu.invocations.at(0);
  EXPECT_EQ(FakeCriuRunner::arg_after(inv, "--work-dir"), work.string());
  EXPECT_EQ(inv.log, work / "dump.log");
  EXPECT_EQ(r.criu_log, work / "dump.log");
  EXPECT_EQ(slurp(opts.image_dir / "stats-dump"), slurp(work / "stats-dump"));
  EXPECT_FALSE(fs::exists(opts.image_dir / "dump.log"));
  // An existing work dir is used as it is: not emptied, its mode not changed.
  EXPECT_EQ(slurp(work / "unrelated"), "x");
  EXPECT_EQ(mode_of(work), 0755u);
}

TEST_F(CheckpointTest, MissingWorkDirIsCreatedPrivate) {
  opts.work_dir = tmp / "new-work";
  criu.push(dump_writes_images());
  ASSERT_TRUE(run().status);
  EXPECT_EQ(mode_of(tmp / "new-work"), 0700u);
}
