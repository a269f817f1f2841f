// The container checkpoint and restore drivers, against a fake runtime, process table and GPUs.
#include "container_fakes.hpp"
#include "fake_cuda.hpp"
#include "fake_freezer.hpp"
#include "fake_handler_probe.hpp"
#include "core/container_checkpoint.hpp"
#include "core/container_restore.hpp"
#include "core/manifest.hpp"
#include "runtime/lock.hpp"
#include "runtime/paths.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

using namespace gpucr;
using namespace gpucr::ctrtest;
using V = std::vector<std::string>;

namespace {

// A running container "c1": init (host 500, container 1) with a child (host 501, container 7).
struct World {
  TempDir tmp;
  FakeProcs procs;
  FakeCriu criu;
  NullProgress progress;
  FakeRuntime rt;
  FakeGpus gpus;
  gpucr::fakes::FakeGpuInventory nvidia;
  gpucr::fakes::FakeBackendFactory backends;
  gpucr::fakes::FakeFreezer freezer;
  gpucr::fakes::FakeHandlerProbe handlers;
  Host host{procs, criu, progress, nvidia, backends, freezer, handlers};
  ContainerHost chost{host, rt, gpus, tmp / "run"};

  World() {
    procs.add(500, 1, "sh", {500, 1}, "pid:[77]");
    procs.add(501, 500, "worker", {501, 7}, "pid:[77]");
    rt.states["c1"] = runtime::ContainerState{.id = "c1", .status = "running", .pid = 500, .bundle = tmp / "bundle"};
    fs::create_directories(tmp / "bundle");
    std::ofstream(tmp / "bundle/config.json")
        << R"({"linux":{"devices":[{"path":"/dev/nvidia0","type":"c","major":195,"minor":2}]}})";
    gpus.host = {{"GPU-two", "Test GPU", 2}};
  }
  ContainerCheckpointOptions checkpoint_opts() {
    ContainerCheckpointOptions o;
    o.args.id = "c1";
    o.args.image_path = tmp / "img";
    o.cwd = tmp.path();
    o.lock_wait = std::chrono::milliseconds(0);
    return o;
  }
  ContainerRestoreOptions restore_opts() {
    ContainerRestoreOptions o;
    o.args.id = "c1";
    o.args.image_path = tmp / "img";
    o.args.bundle = tmp / "bundle";
    o.args.detach = true;
    o.cwd = tmp.path();
    o.lock_wait = std::chrono::milliseconds(0);
    return o;
  }
};

#define NEED_ROOT() \
  if (::geteuid() != 0) GTEST_SKIP() << "the drivers refuse to run without root"

}  // namespace

TEST(ContainerCheckpoint, RunsTheRuntimeAndWritesAManifestWithTheContainerAndItsNsPids) {
  NEED_ROOT();
  World w;
  auto r = checkpoint_container(w.checkpoint_opts(), w.chost);
  ASSERT_TRUE(r.status) << r.status.error().what;
  ASSERT_EQ(w.rt.started.size(), 1u);
  EXPECT_EQ(w.rt.started[0], (V{"checkpoint", "--image-path", (w.tmp / "img").string(), "--work-path",
                                (w.tmp / "img").string(), "c1"}));
  auto m = read_manifest(w.tmp / "img");
  ASSERT_TRUE(m && *m);
  const auto& man = **m;
  EXPECT_EQ(man.target().container_id(), "c1");
  EXPECT_EQ(man.target().root_pid(), 500);
  EXPECT_EQ(man.container().runtime(), "fakerunc");
  EXPECT_EQ(man.container().root(), "/fake/root");
  EXPECT_EQ(man.container().cgroup_freezer(), "/c1");
  ASSERT_EQ(man.processes_size(), 2);
  EXPECT_EQ(man.processes(1).nspid(1), 7);
  ASSERT_EQ(man.container().gpu_devices_size(), 1);
  EXPECT_EQ(man.container().gpu_devices(0).uuid(), "GPU-two");  // /dev/nvidia0 is host minor 2
  // Without --leave-running the container is gone afterwards, and so is its lock file.
  EXPECT_FALSE(fs::exists(runtime::container_lock_file(w.chost.run_dir, "c1")));
}

TEST(ContainerCheckpoint, WrapperRunsTheEnginesArgumentsVerbatimIntoAnExistingImageDir) {
  NEED_ROOT();
  World w;
  fs::create_directories(w.tmp / "img");
  std::ofstream(w.tmp / "img/engine-file") << "x";
  fs::permissions(w.tmp / "img", fs::perms(0755));
  auto o = w.checkpoint_opts();
  o.args.leave_running = true;
  o.verbatim = V{"checkpoint", "--image-path", (w.tmp / "img").string(), "--leave-running", "--file-locks", "c1"};
  auto r = checkpoint_container(o, w.chost);
  ASSERT_TRUE(r.status) << r.status.error().what;
  EXPECT_EQ(w.rt.started.at(0), *o.verbatim);
  EXPECT_TRUE(read_manifest(w.tmp / "img").value()->container().via_wrapper());
  EXPECT_EQ(fs::status(w.tmp / "img").permissions(), fs::perms(0755)) << "the engine's directory is left as it was";
  EXPECT_TRUE(fs::exists(w.tmp / "img/engine-file"));
  // --leave-running: the container lives on and keeps its (released) lock file.
  EXPECT_TRUE(fs::exists(runtime::container_lock_file(w.chost.run_dir, "c1")));
}

TEST(ContainerCheckpoint, RefusesAStoppedContainerBeforeRunningTheRuntime) {
  NEED_ROOT();
  World w;
  w.rt.states["c1"].status = "stopped";
  w.rt.states["c1"].pid = 0;
  auto r = checkpoint_container(w.checkpoint_opts(), w.chost);
  ASSERT_FALSE(r.status);
  EXPECT_EQ(r.status.error().exit, Exit::bad_input);
  EXPECT_TRUE(w.rt.started.empty());
}

TEST(ContainerCheckpoint, RefusesAnUnsafeIdBeforeTouchingAnything) {
  NEED_ROOT();
  World w;
  auto o = w.checkpoint_opts();
  o.args.id = "../../etc";
  auto r = checkpoint_container(o, w.chost);
  ASSERT_FALSE(r.status);
  EXPECT_EQ(r.status.error().exit, Exit::bad_input);
  EXPECT_EQ(w.rt.state_calls, 0);
  EXPECT_FALSE(fs::exists(w.chost.run_dir));
}

TEST(ContainerCheckpoint, RuntimeFailureIsReportedWithItsExitStatusAndWritesNoManifest) {
  NEED_ROOT();
  World w;
  w.rt.exits.push_back(ExitStatus{.code = 1});
  auto r = checkpoint_container(w.checkpoint_opts(), w.chost);
  ASSERT_FALSE(r.status);
  ASSERT_TRUE(r.runtime_exit);
  EXPECT_EQ(r.runtime_exit->code, 1);
  EXPECT_NE(r.status.error().what.find("fakerunc checkpoint of container c1 failed (exit code 1)"), std::string::npos);
  EXPECT_FALSE(fs::exists(w.tmp / "img" / kManifestFile));
  // The lock is released (another operation can start at once).
  EXPECT_TRUE(runtime::ContainerLock::acquire(w.chost.run_dir, "c1", "t", std::chrono::milliseconds(0)));
}

TEST(ContainerCheckpoint, WaitsForTheContainersLockThenFailsWithoutRunningTheRuntime) {
  NEED_ROOT();
  World w;
  auto held = runtime::ContainerLock::acquire(w.chost.run_dir, "c1", "restore", std::chrono::milliseconds(0));
  ASSERT_TRUE(held);
  auto o = w.checkpoint_opts();
  o.lock_wait = std::chrono::milliseconds(200);
  auto r = checkpoint_container(o, w.chost);
  ASSERT_FALSE(r.status);
  EXPECT_NE(r.status.error().what.find("busy"), std::string::npos);
  EXPECT_TRUE(w.rt.started.empty());
}

TEST(ContainerRestore, MapsEveryCheckpointedProcessToItsNewHostPidThroughNsPid) {
  NEED_ROOT();
  World w;
  ASSERT_TRUE(checkpoint_container(w.checkpoint_opts(), w.chost).status);
  // The runtime's restore re-creates the container: same container pids, new host pids.
  w.rt.on_start = [&](const V&) {
    w.procs.procs.clear();
    w.procs.add(900, 1, "sh", {900, 1}, "pid:[88]");
    w.procs.add(901, 900, "worker", {901, 7}, "pid:[88]");
    w.procs.add(850, 1, "other", {850, 7}, "pid:[99]");  // pid 7 of another container, found first
    w.rt.states["c1"].pid = 900;
  };
  auto r = restore_container(w.restore_opts(), w.chost);
  ASSERT_TRUE(r.status) << r.status.error().what;
  EXPECT_EQ(w.rt.started.back(), (V{"restore", "--bundle", (w.tmp / "bundle").string(), "--image-path",
                                    (w.tmp / "img").string(), "--work-path", (w.tmp / "img").string(), "--detach", "c1"}));
  EXPECT_EQ(r.init_pid, 900);
  ASSERT_EQ(r.processes.size(), 2u);
  EXPECT_EQ(r.processes[1].old_pid, 501);
  EXPECT_EQ(r.processes[1].nspid, 7);
  EXPECT_EQ(r.processes[1].new_pid, 901);
  EXPECT_FALSE(r.running);
}

TEST(ContainerRestore, FailsBeforeTheRuntimeWhenAGpuOfTheCheckpointIsMissing) {
  NEED_ROOT();
  World w;
  ASSERT_TRUE(checkpoint_container(w.checkpoint_opts(), w.chost).status);
  w.gpus.host = {{"GPU-other", "Test GPU", 0}};
  auto r = restore_container(w.restore_opts(), w.chost);
  ASSERT_FALSE(r.status);
  EXPECT_EQ(r.status.error().exit, Exit::missing_dependency);
  EXPECT_NE(r.status.error().details.at(0).find("GPU-two"), std::string::npos);
  EXPECT_EQ(w.rt.started.size(), 1u);  // only the checkpoint ran
}

TEST(ContainerRestore, ForegroundReturnsTheRunningRuntimeOnceTheContainerRuns) {
  NEED_ROOT();
  World w;
  ASSERT_TRUE(checkpoint_container(w.checkpoint_opts(), w.chost).status);
  auto o = w.restore_opts();
  o.args.detach = false;
  w.rt.keep_running = true;
  w.rt.states["c1"].status = "stopped";
  w.rt.on_start = [&](const V&) { w.rt.states["c1"].status = "running"; };
  auto r = restore_container(o, w.chost);
  ASSERT_TRUE(r.status) << r.status.error().what;
  ASSERT_TRUE(r.running);
  EXPECT_FALSE(r.runtime_exit);
}

TEST(ContainerRestore, RuntimeFailureIsReported) {
  NEED_ROOT();
  World w;
  ASSERT_TRUE(checkpoint_container(w.checkpoint_opts(), w.chost).status);
  w.rt.exits.push_back(ExitStatus{.code = 2});
  auto r = restore_container(w.restore_opts(), w.chost);
  ASSERT_FALSE(r.status);
  EXPECT_EQ(r.runtime_exit->code, 2);
}

TEST(ContainerRestore, ImageOfAPlainRuntimeCheckpointRestoresWithoutMapping) {
  NEED_ROOT();
  World w;
  fs::create_directories(w.tmp / "img");
  auto r = restore_container(w.restore_opts(), w.chost);
  ASSERT_TRUE(r.status) << r.status.error().what;
  EXPECT_FALSE(r.manifest);
  EXPECT_EQ(r.init_pid, 500);
  EXPECT_TRUE(r.processes.empty());
}
