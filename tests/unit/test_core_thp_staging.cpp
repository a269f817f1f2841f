// core/thp_staging: the drivers' "open THP window" / "close THP window" phases, with the fake
// host (FakeThp, fake criu): where they run, what the journal says meanwhile, and that a failing
// dump or restore still closes the window.
#include "core/checkpoint.hpp"
#include "core/restore.hpp"
#include "core/thp_staging.hpp"

#include "core/manifest.hpp"
#include "fakes.hpp"
#include "recovery/journal.hpp"
#include "support.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cctype>

using namespace gpucr;
using namespace gpucr::fakes;
using namespace std::chrono_literals;
using mm::ThpMode;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Not;

namespace {

std::vector<std::string> names(const std::vector<PhaseTiming>& phases) {
  std::vector<std::string> out;
  for (const auto& p : phases) out.push_back(p.name);
  return out;
}

class ThpStagingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fake.procs.add(1, 0, "init");
    fake.procs.add(4100, 1, "tree_workload");
  }

  // What criu sees while it runs: the host's mode and the journal's "thp_window".
  std::function<void(const criu::Invocation&)> observe() {
    return [this](const criu::Invocation&) {
      mode_during_criu = fake.thp.current;
      for (const auto& j : recovery::list_journals(fake.run)) {
        if (auto d = recovery::load_journal(j)) journal_during_criu = d->thp_window;
      }
    };
  }

  FakeCriuRunner::Script dump_ok() {
    auto look = observe();
    return FakeCriuRunner::succeed([look](const criu::Invocation& inv) {
      look(inv);
      fs::path images = *FakeCriuRunner::arg_after(inv, "--images-dir");
      criu::Inventory inventory;
      inventory.entry.set_img_version(2);
      inventory.set_plugins({});
      put_file(images / "inventory.img", criu::serialize_inventory(inventory));
    });
  }

  // criu fails with `line` in its log, after recording what it saw.
  FakeCriuRunner::Script failing(const std::string& line) {
    auto s = FakeCriuRunner::exit_with(1, {line});
    s.effect = observe();
    return s;
  }

  CheckpointReport checkpoint_tree(mm::ThpWindow w) {
    CheckpointRequest req;
    req.pid = 4100;
    req.image_dir = tmp / "images";
    req.thp_window = w;
    return checkpoint(req, fake.host);
  }

  RestoreReport restore_tree(mm::ThpWindow w) {
    fs::path images = tmp / "restore-images";
    fs::create_directory(images);
    put_file(images / "inventory.img", inventory_empty_plugins());
    put_file(images / "pstree.img", pstree_image({{4200, 0, {4200}}}));
    pb::Manifest m;
    m.mutable_target()->set_root_pid(4200);
    EXPECT_TRUE(write_manifest(images, m));
    RestoreRequest req;
    req.image_dir = images;
    req.pid_wait = 1s;
    req.thp_window = w;
    return restore(req, fake.host);
  }

  TempDir tmp;
  FakeHost fake;
  ThpMode mode_during_criu = ThpMode::never;
  std::string journal_during_criu = "unset";
};

}  // namespace

TEST_F(ThpStagingTest, CheckpointOpensBeforeTheGpuPhasesAndClosesAfterTheDump) {
  fake.criu.push(dump_ok());
  auto r = checkpoint_tree(mm::ThpWindow::on);
  ASSERT_TRUE(r.status) << r.status.error().what;
  EXPECT_TRUE(in_order(names(r.phases), {"arm recovery", "prepare image dir", "open THP window", "gpu lock",
                                         "gpu checkpoint", "criu dump", "close THP window", "finish journal"}));
  EXPECT_EQ(mode_during_criu, ThpMode::always);
  EXPECT_EQ(journal_during_criu, "madvise");  // the guardian would close it for a killed gpucr
  EXPECT_EQ(fake.thp.current, ThpMode::madvise);
  EXPECT_THAT(fake.thp.writes, ElementsAre(ThpMode::always, ThpMode::madvise));
  EXPECT_FALSE(fs::exists(fake.run.thp() / "original"));
}

TEST_F(ThpStagingTest, FailingDumpStillClosesTheWindow) {
  fake.criu.push(failing("Error (criu/cr-dump.c:1): Dumping FAILED."));
  auto r = checkpoint_tree(mm::ThpWindow::on);
  ASSERT_FALSE(r.status);
  EXPECT_EQ(mode_during_criu, ThpMode::always);
  EXPECT_THAT(names(r.phases), Contains("close THP window"));
  EXPECT_EQ(fake.thp.current, ThpMode::madvise);
}

TEST_F(ThpStagingTest, WithoutTheFlagNothingIsTouched) {
  fake.criu.push(dump_ok());
  auto r = checkpoint_tree(mm::ThpWindow::off);
  ASSERT_TRUE(r.status) << r.status.error().what;
  EXPECT_THAT(names(r.phases), Not(Contains("open THP window")));
  EXPECT_THAT(fake.thp.writes, IsEmpty());
  EXPECT_EQ(journal_during_criu, "");
}

TEST_F(ThpStagingTest, AWindowThatCantOpenDoesNotFailTheCheckpoint) {
  fake.thp.fail_write = true;
  fake.criu.push(dump_ok());
  auto r = checkpoint_tree(mm::ThpWindow::on);
  ASSERT_TRUE(r.status) << r.status.error().what;
  EXPECT_EQ(journal_during_criu, "");  // not held: nothing for recovery to close
  EXPECT_EQ(fake.thp.current, ThpMode::madvise);
}

TEST_F(ThpStagingTest, NotRootGoesOnWithoutAWindow) {
  fake.privileges.euid_ = fake.privileges.uid_ = 1000;
  fake.criu.push(dump_ok());
  (void)checkpoint_tree(mm::ThpWindow::force);
  EXPECT_THAT(fake.thp.writes, IsEmpty());
}

TEST_F(ThpStagingTest, RestoreOpensBeforeCriuAndClosesAfterGpuUnlock) {
  fake.criu.push(FakeCriuRunner::succeed([this](const criu::Invocation& inv) {
    observe()(inv);
    fake.procs.add(4200, 1, "restored");
    put_file(*FakeCriuRunner::arg_after(inv, "--pidfile"), "4200");
  }));
  auto r = restore_tree(mm::ThpWindow::on);
  ASSERT_TRUE(r.status) << r.status.error().what;
  EXPECT_TRUE(in_order(names(r.phases), {"arm recovery", "open THP window", "criu restore", "gpu restore", "gpu unlock",
                                         "close THP window", "finish"}));
  EXPECT_EQ(mode_during_criu, ThpMode::always);
  EXPECT_EQ(journal_during_criu, "madvise");
  EXPECT_EQ(fake.thp.current, ThpMode::madvise);
}

TEST_F(ThpStagingTest, FailingRestoreStillClosesTheWindow) {
  fake.criu.push(failing("Error (criu/cr-restore.c:1): Restoring FAILED."));
  auto r = restore_tree(mm::ThpWindow::on);
  ASSERT_FALSE(r.status);
  EXPECT_EQ(mode_during_criu, ThpMode::always);
  EXPECT_EQ(fake.thp.current, ThpMode::madvise);
  EXPECT_THAT(fake.thp.writes, ElementsAre(ThpMode::always, ThpMode::madvise));
}
