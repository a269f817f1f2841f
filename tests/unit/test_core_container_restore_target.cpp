// The container restore driver against container_world.hpp: pid mapping through NSpid, GPU
// checks, image views, all-or-nothing GPU restore, pausing again.
#include "container_world.hpp"

#include <gtest/gtest.h>

#include <algorithm>

using namespace gpucr;
using namespace gpucr::ctrtest;

TEST(ContainerRestore, MapsEveryCheckpointedProcessToItsNewHostPidThroughNsPid) {
  World w;
  ASSERT_TRUE(checkpoint(w.checkpoint_opts(), w.host).status);
  // The runtime's restore re-creates the container: same container pids, new host pids.
  w.rt.on_start = [&](const V&) {
    w.procs.procs.clear();
    w.procs.add(900, 1, "sh", {900, 1}, "pid:[88]");
    w.procs.add(901, 900, "worker", {901, 7}, "pid:[88]");
    w.procs.add(850, 1, "other", {850, 7}, "pid:[99]");  // pid 7 of another container, found first
    w.rt.states["c1"].pid = 900;
  };
  auto r = restore(w.restore_opts(), w.host);
  ASSERT_TRUE(r.status) << r.status.error().what;
  EXPECT_EQ(w.rt.started.back(), (V{"restore", "--bundle", (w.tmp / "bundle").string(), "--image-path",
                                    (w.tmp / "img").string(), "--work-path", (w.tmp / "img").string(), "--detach", "c1"}));
  EXPECT_EQ(r.root_pid, 900);
  ASSERT_EQ(r.processes.size(), 2u);
  EXPECT_EQ(r.processes[1].old_pid, 501);
  EXPECT_EQ(r.processes[1].nspid, 7);
  EXPECT_EQ(r.processes[1].new_pid, 901);
  EXPECT_FALSE(r.running);
}

TEST(ContainerRestore, FailsBeforeTheRuntimeWhenAGpuOfTheCheckpointIsMissing) {
  World w;
  ASSERT_TRUE(checkpoint(w.checkpoint_opts(), w.host).status);
  w.gpus.host = {{"GPU-other", "Test GPU", 0}};
  auto r = restore(w.restore_opts(), w.host);
  ASSERT_FALSE(r.status);
  EXPECT_EQ(r.status.error().exit, Exit::missing_dependency);
  EXPECT_NE(r.status.error().details.at(0).find("GPU-two"), std::string::npos);
  EXPECT_EQ(w.rt.started.size(), 1u);  // only the checkpoint ran
}

TEST(ContainerRestore, ForegroundReturnsTheRunningRuntimeOnceTheContainerRuns) {
  World w;
  ASSERT_TRUE(checkpoint(w.checkpoint_opts(), w.host).status);
  auto o = w.restore_opts();
  o.detach = false;
  w.rt.keep_running = true;
  w.rt.states["c1"].status = "stopped";
  w.rt.on_start = [&](const V&) { w.rt.states["c1"].status = "running"; };
  auto r = restore(o, w.host);
  ASSERT_TRUE(r.status) << r.status.error().what;
  ASSERT_TRUE(r.running);
  EXPECT_FALSE(r.runtime_exit);
}

TEST(ContainerRestore, RuntimeFailureIsReported) {
  World w;
  ASSERT_TRUE(checkpoint(w.checkpoint_opts(), w.host).status);
  w.rt.exits.push_back(ExitStatus{.code = 2});
  auto r = restore(w.restore_opts(), w.host);
  ASSERT_FALSE(r.status);
  EXPECT_EQ(r.runtime_exit->code, 2);
}

TEST(ContainerRestore, ImageOfAPlainRuntimeCheckpointRestoresWithoutMapping) {
  World w;
  World::write_inventory(w.tmp / "img");
  auto r = restore(w.restore_opts(), w.host);
  ASSERT_TRUE(r.status) << r.status.error().what;
  EXPECT_FALSE(r.manifest);
  EXPECT_EQ(r.root_pid, 500);
  EXPECT_TRUE(r.processes.empty());
}

TEST(ContainerRestore, RestoresAndUnlocksTheCudaProcessAtItsNewHostPidFromAnImageView) {
  World w;
  w.make_cuda();
  ASSERT_TRUE(checkpoint(w.checkpoint_opts(), w.host).status);
  ASSERT_EQ(listed_plugins(w.tmp / "img"), V{criu::kCudaPlugin});
  restored_as_900(w);
  auto r = restore(w.restore_opts(), w.host);
  ASSERT_TRUE(r.status) << r.status.error().what;
  EXPECT_EQ(w.driver->states[901], cuda::State::running);
  EXPECT_NE(std::find(w.driver->calls.begin(), w.driver->calls.end(), "unlock 901"), w.driver->calls.end());
  EXPECT_EQ(w.driver->calls.back(), "get-state 901") << "verified after the unlock";
  // criu must not see "cuda_plugin": the runtime restored from a view inside the image dir, and
  // wrote its logs to the image dir itself.
  const V& args = w.rt.started.back();
  ASSERT_EQ(args.at(3), "--image-path");
  EXPECT_EQ(fs::path(args.at(4)).parent_path(), w.tmp / "img");
  EXPECT_EQ(fs::path(args.at(4)).filename().string().rfind(criu::kViewPrefix, 0), 0u);
  EXPECT_EQ(args.at(6), (w.tmp / "img").string());
  EXPECT_FALSE(has_view_dir(w.tmp / "img")) << "the view is removed";
  EXPECT_EQ(listed_plugins(w.tmp / "img"), V{criu::kCudaPlugin}) << "the image is untouched";
  EXPECT_TRUE(recovery::list_journals(w.run).empty());
}

TEST(ContainerRestore, WrapperRestoreReadsTheViewThroughTheEnginesArgumentsRewritten) {
  World w;
  w.make_cuda();
  ASSERT_TRUE(checkpoint(w.checkpoint_opts(), w.host).status);
  restored_as_900(w);
  auto o = w.restore_opts();
  o.container->verbatim = V{"restore", "--detach", "--image-path=" + (w.tmp / "img").string(), "--bundle", (w.tmp / "bundle").string(), "c1"};
  auto r = restore(o, w.host);
  ASSERT_TRUE(r.status) << r.status.error().what;
  const V& args = w.rt.started.back();
  ASSERT_EQ(args.size(), 8u);
  EXPECT_EQ(args[1], "--work-path");
  EXPECT_EQ(args[2], (w.tmp / "img").string());
  EXPECT_EQ(args[4].rfind("--image-path=" + (w.tmp / "img").string() + "/" + criu::kViewPrefix, 0), 0u) << args[4];
  EXPECT_EQ(args[7], "c1");
}

TEST(ContainerRestore, AFailedGpuRestoreKillsAndDeletesTheRestoredContainer) {
  World w;
  w.make_cuda();
  ASSERT_TRUE(checkpoint(w.checkpoint_opts(), w.host).status);
  restored_as_900(w);
  w.driver->fail[{cuda::Step::restore, 901}] = 999;
  auto r = restore(w.restore_opts(), w.host);
  ASSERT_FALSE(r.status);
  EXPECT_NE(r.status.error().what.find("901"), std::string::npos) << r.status.error().what;
  auto n = w.rt.started.size();
  ASSERT_GE(n, 2u);
  EXPECT_EQ(w.rt.started[n - 2], (V{"kill", "c1", "KILL"}));
  EXPECT_EQ(w.rt.started[n - 1], (V{"delete", "--force", "c1"}));
  EXPECT_EQ(r.root_pid, 0);
  EXPECT_TRUE(recovery::list_journals(w.run).empty());
}

TEST(ContainerRestore, RestoreFrozenPausesAContainerPausedAtCheckpointOnlyAfterTheGpuRestore) {
  World w;
  w.make_cuda();
  w.rt.states["c1"].status = "paused";
  w.freezer.states[(w.tmp / "cg").string()] = freezer::State::frozen;
  ASSERT_TRUE(checkpoint(w.checkpoint_opts(), w.host).status);
  restored_as_900(w);
  auto restore_hook = w.rt.on_start;
  bool paused_running = false;
  w.rt.on_start = [&](const V& a) {
    restore_hook(a);
    if (a.at(0) == "pause") paused_running = w.driver->states[901] == cuda::State::running;
  };
  auto o = w.restore_opts();
  o.restore_frozen = true;
  auto r = restore(o, w.host);
  ASSERT_TRUE(r.status) << r.status.error().what;
  EXPECT_TRUE(r.refrozen);
  EXPECT_EQ(w.rt.started.back(), (V{"pause", "c1"}));
  EXPECT_TRUE(paused_running) << "paused only once its CUDA process runs";
}
