// The container checkpoint and restore drivers, against a fake runtime, process table and GPUs.
#include "container_fakes.hpp"
#include "fake_cuda.hpp"
#include "fake_freezer.hpp"
#include "fake_handler_probe.hpp"
#include "core/container_checkpoint.hpp"
#include "core/container_restore.hpp"
#include "core/journal.hpp"
#include "core/manifest.hpp"
#include "criu/image_view.hpp"
#include "criu/inventory.hpp"
#include "criu/plugins.hpp"
#include "runtime/lock.hpp"
#include "runtime/paths.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <memory>

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
  Host host{procs, criu, progress, nvidia, backends, freezer, handlers, nullptr, "/bin/true"};  // a guardian that exits
  ContainerHost chost{host, rt, gpus, tmp / "run"};
  std::shared_ptr<gpucr::fakes::FakeCheckpointer> driver;  // the fake driver (make_cuda, restored_as_900)

  World() {
    ::setenv("GPUCR_RUN_DIR", (tmp / "run").c_str(), 1);  // journals
    procs.add(500, 1, "sh", {500, 1}, "pid:[77]");
    procs.add(501, 500, "worker", {501, 7}, "pid:[77]");
    freezer.place(500, (tmp / "cg").string(), freezer::State::thawed);
    freezer.place(501, (tmp / "cg").string(), freezer::State::thawed);
    // Like criu under the runtime: a checkpoint writes inventory.img (criu 4.1: empty plugins field).
    rt.on_start = [this](const V& a) {
      if (a.at(0) == "checkpoint") write_inventory(tmp / "img");
    };
    rt.states["c1"] = runtime::ContainerState{.id = "c1", .status = "running", .pid = 500, .bundle = tmp / "bundle"};
    fs::create_directories(tmp / "bundle");
    std::ofstream(tmp / "bundle/config.json")
        << R"({"linux":{"devices":[{"path":"/dev/nvidia0","type":"c","major":195,"minor":2}]}})";
    gpus.host = {{"GPU-two", "Test GPU", 2}};
  }
  ~World() { ::unsetenv("GPUCR_RUN_DIR"); }
  static void write_inventory(const fs::path& dir) {
    fs::create_directories(dir);
    std::ofstream(dir / "inventory.img") << std::string("\x16\x31\x31\x58\x06\x00\x00\x00\x08\x02\x10\x01\x62\x00", 14);
  }
  // The fake driver knows `pid` in state `s`; gpucr's backends reach it.
  void driver_knows(pid_t pid, cuda::State s) {
    driver = std::make_shared<gpucr::fakes::FakeCheckpointer>();
    driver->states[pid] = s;
    backends.create = [this] { return std::unique_ptr<cuda::Checkpointer>(new gpucr::fakes::ForwardingCheckpointer(driver)); };
  }
  // Worker 501 is a CUDA process (it maps libcuda; the fake driver knows it) in state `s`.
  void make_cuda(cuda::State s = cuda::State::running) {
    procs.maps[501] = {"/opt/fake-cuda/lib/libcuda.so.1"};
    handlers.handlers[criu::kCudaPlugin] = {true, "the fake driver", ""};
    driver_knows(501, s);
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
  World::write_inventory(w.tmp / "img");
  auto r = restore_container(w.restore_opts(), w.chost);
  ASSERT_TRUE(r.status) << r.status.error().what;
  EXPECT_FALSE(r.manifest);
  EXPECT_EQ(r.init_pid, 500);
  EXPECT_TRUE(r.processes.empty());
}

// ---- GPU and freezer orchestration ----

namespace {

std::vector<std::string> listed_plugins(const fs::path& img) {
  auto inv = criu::read_inventory(img);
  EXPECT_TRUE(inv) << inv.error().what;
  return inv ? inv->plugins() : std::vector<std::string>{};
}

bool has_view_dir(const fs::path& img) {
  for (const auto& e : fs::directory_iterator(img)) {
    if (e.path().filename().string().rfind(criu::kViewPrefix, 0) == 0) return true;
  }
  return false;
}

// After a checkpoint of World's container: its restore gives init 900 and worker 901, and the
// fake driver knows 901 as CHECKPOINTED (what the image holds).
void restored_as_900(World& w) {
  w.driver_knows(901, cuda::State::checkpointed);
  w.rt.on_start = [&w](const V& a) {
    if (a.at(0) != "restore") return;
    w.procs.procs.clear();
    w.procs.add(900, 1, "sh", {900, 1}, "pid:[88]");
    w.procs.add(901, 900, "worker", {901, 7}, "pid:[88]");
    w.rt.states["c1"] = runtime::ContainerState{.id = "c1", .status = "running", .pid = 900, .bundle = w.tmp / "bundle"};
  };
}

}  // namespace

TEST(ContainerCheckpoint, PausedContainerIsThawedForTheGpuStepsThenPausedAgainWithItsCudaProcessRunning) {
  NEED_ROOT();
  World w;
  w.make_cuda();
  w.rt.states["c1"].status = "paused";  // containerd/CRI-O pause before `checkpoint --leave-running`
  w.freezer.states[(w.tmp / "cg").string()] = freezer::State::frozen;
  auto o = w.checkpoint_opts();
  o.args.leave_running = true;
  o.verbatim = V{"checkpoint", "--image-path", (w.tmp / "img").string(), "--leave-running", "c1"};
  bool checked = false;
  w.rt.on_start = [&](const V& a) {
    ASSERT_EQ(a.at(0), "checkpoint");
    // The runtime dumps a thawed container whose CUDA process is checkpointed, with gpucr's
    // post-dump hook in its criu's configuration.
    EXPECT_EQ(w.freezer.states[(w.tmp / "cg").string()], freezer::State::thawed);
    EXPECT_EQ(w.driver->states[501], cuda::State::checkpointed);
    const auto& env = w.rt.envs.back();
    ASSERT_TRUE(env.count("CRIU_CONFIG_FILE") && env.count("GPUCR_JOURNAL"));
    EXPECT_EQ(*read_file(env.at("CRIU_CONFIG_FILE")), "action-script " + fs::canonical("/bin/true").string() + "\n");
    auto j = load_journal(env.at("GPUCR_JOURNAL"));
    ASSERT_TRUE(j);
    EXPECT_EQ(j->phase, "runtime checkpoint");
    EXPECT_EQ(j->criu->pid, 4242) << "the journal names the runtime: recovery waits for it";
    ASSERT_TRUE(j->container);
    EXPECT_EQ(j->container->id, "c1");
    EXPECT_EQ(j->container->runtime, "/fake/runc");
    World::write_inventory(w.tmp / "img");
    checked = true;
  };
  auto r = checkpoint_container(o, w.chost);
  ASSERT_TRUE(r.status) << r.status.error().what;
  ASSERT_TRUE(checked);
  EXPECT_EQ(w.driver->states[501], cuda::State::running) << "--leave-running: restored and unlocked";
  EXPECT_EQ(w.freezer.calls, (V{"thaw " + (w.tmp / "cg").string(), "freeze " + (w.tmp / "cg").string()}));
  EXPECT_EQ(w.freezer.states[(w.tmp / "cg").string()], freezer::State::frozen);
  auto m = read_manifest(w.tmp / "img").value().value();
  ASSERT_EQ(m.cuda_processes_size(), 1);
  EXPECT_EQ(m.cuda_processes(0).pid(), 501);
  EXPECT_EQ(m.cuda_processes(0).nspid(1), 7);
  EXPECT_EQ(m.container().status(), "paused");
  EXPECT_EQ(m.freezer().original_state(), pb::FreezerRecord::FROZEN);
  EXPECT_TRUE(m.freezer().thawed_by_gpucr());
  EXPECT_EQ(listed_plugins(w.tmp / "img"), V{criu::kCudaPlugin});
  EXPECT_TRUE(list_journals().empty());
  EXPECT_TRUE(list_dir(journal_dir()).value().empty()) << "the criu configuration goes with the journal";
}

TEST(ContainerCheckpoint, AContainerThatWasPausedIsPausedAgainThroughItsRuntimeWhenItSaysRunning) {
  NEED_ROOT();
  World w;
  w.rt.states["c1"].status = "paused";
  w.freezer.states[(w.tmp / "cg").string()] = freezer::State::frozen;
  auto o = w.checkpoint_opts();
  o.args.leave_running = true;
  w.rt.on_start = [&](const V& a) {
    if (a.at(0) != "checkpoint") return;
    World::write_inventory(w.tmp / "img");
    w.rt.states["c1"].status = "running";  // a runtime with its own view of "paused"
  };
  auto r = checkpoint_container(o, w.chost);
  ASSERT_TRUE(r.status) << r.status.error().what;
  EXPECT_EQ(w.rt.started.back(), (V{"pause", "c1"}));
  EXPECT_TRUE(w.freezer.calls.empty()) << "no CUDA process: the container is never thawed";
}

TEST(ContainerCheckpoint, RuntimeFailureReturnsTheCudaProcessToRunningAndKeepsTheImageUnmarked) {
  NEED_ROOT();
  World w;
  w.make_cuda();
  w.rt.exits.push_back(ExitStatus{.code = 1});
  auto r = checkpoint_container(w.checkpoint_opts(), w.chost);
  ASSERT_FALSE(r.status);
  EXPECT_EQ(w.driver->states[501], cuda::State::running);
  EXPECT_FALSE(fs::exists(w.tmp / "img" / kManifestFile));
  EXPECT_EQ(listed_plugins(w.tmp / "img"), V{}) << "inventory.img as the runtime's criu wrote it";
  ASSERT_EQ(r.cuda_report.size(), 1u);
  EXPECT_NE(r.cuda_report[0].find("returned to running"), std::string::npos) << r.cuda_report[0];
  EXPECT_TRUE(list_journals().empty());
}

TEST(ContainerRestore, RestoresAndUnlocksTheCudaProcessAtItsNewHostPidFromAnImageView) {
  NEED_ROOT();
  World w;
  w.make_cuda();
  ASSERT_TRUE(checkpoint_container(w.checkpoint_opts(), w.chost).status);
  ASSERT_EQ(listed_plugins(w.tmp / "img"), V{criu::kCudaPlugin});
  restored_as_900(w);
  auto r = restore_container(w.restore_opts(), w.chost);
  ASSERT_TRUE(r.status) << r.status.error().what;
  EXPECT_EQ(w.driver->states[901], cuda::State::running);
  EXPECT_EQ(w.driver->calls.back(), "unlock 901");
  // criu must not see "cuda_plugin": the runtime restored from a view inside the image dir, and
  // wrote its logs to the image dir itself.
  const V& args = w.rt.started.back();
  ASSERT_EQ(args.at(3), "--image-path");
  EXPECT_EQ(fs::path(args.at(4)).parent_path(), w.tmp / "img");
  EXPECT_EQ(fs::path(args.at(4)).filename().string().rfind(criu::kViewPrefix, 0), 0u);
  EXPECT_EQ(args.at(6), (w.tmp / "img").string());
  EXPECT_FALSE(has_view_dir(w.tmp / "img")) << "the view is removed";
  EXPECT_EQ(listed_plugins(w.tmp / "img"), V{criu::kCudaPlugin}) << "the image is untouched";
  EXPECT_TRUE(list_journals().empty());
}

TEST(ContainerRestore, WrapperRestoreReadsTheViewThroughTheEnginesArgumentsRewritten) {
  NEED_ROOT();
  World w;
  w.make_cuda();
  ASSERT_TRUE(checkpoint_container(w.checkpoint_opts(), w.chost).status);
  restored_as_900(w);
  auto o = w.restore_opts();
  o.verbatim = V{"restore", "--detach", "--image-path=" + (w.tmp / "img").string(), "--bundle", (w.tmp / "bundle").string(), "c1"};
  auto r = restore_container(o, w.chost);
  ASSERT_TRUE(r.status) << r.status.error().what;
  const V& args = w.rt.started.back();
  ASSERT_EQ(args.size(), 8u);
  EXPECT_EQ(args[1], "--work-path");
  EXPECT_EQ(args[2], (w.tmp / "img").string());
  EXPECT_EQ(args[4].rfind("--image-path=" + (w.tmp / "img").string() + "/" + criu::kViewPrefix, 0), 0u) << args[4];
  EXPECT_EQ(args[7], "c1");
}

TEST(ContainerRestore, AFailedGpuRestoreKillsAndDeletesTheRestoredContainer) {
  NEED_ROOT();
  World w;
  w.make_cuda();
  ASSERT_TRUE(checkpoint_container(w.checkpoint_opts(), w.chost).status);
  restored_as_900(w);
  w.driver->fail[{cuda::Step::restore, 901}] = 999;
  auto r = restore_container(w.restore_opts(), w.chost);
  ASSERT_FALSE(r.status);
  EXPECT_NE(r.status.error().what.find("901"), std::string::npos) << r.status.error().what;
  auto n = w.rt.started.size();
  ASSERT_GE(n, 2u);
  EXPECT_EQ(w.rt.started[n - 2], (V{"kill", "c1", "KILL"}));
  EXPECT_EQ(w.rt.started[n - 1], (V{"delete", "--force", "c1"}));
  EXPECT_EQ(r.init_pid, 0);
  EXPECT_TRUE(list_journals().empty());
}

TEST(ContainerRestore, RestoreFrozenPausesAContainerPausedAtCheckpointOnlyAfterTheGpuRestore) {
  NEED_ROOT();
  World w;
  w.make_cuda();
  w.rt.states["c1"].status = "paused";
  w.freezer.states[(w.tmp / "cg").string()] = freezer::State::frozen;
  ASSERT_TRUE(checkpoint_container(w.checkpoint_opts(), w.chost).status);
  restored_as_900(w);
  auto restore_hook = w.rt.on_start;
  bool paused_running = false;
  w.rt.on_start = [&](const V& a) {
    restore_hook(a);
    if (a.at(0) == "pause") paused_running = w.driver->states[901] == cuda::State::running;
  };
  auto o = w.restore_opts();
  o.restore_frozen = true;
  auto r = restore_container(o, w.chost);
  ASSERT_TRUE(r.status) << r.status.error().what;
  EXPECT_TRUE(r.paused);
  EXPECT_EQ(w.rt.started.back(), (V{"pause", "c1"}));
  EXPECT_TRUE(paused_running) << "paused only once its CUDA process runs";
}
