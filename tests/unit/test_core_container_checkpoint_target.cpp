// The container checkpoint driver against container_world.hpp: runtime, manifest, refusals, the
// GPU and freezer orchestration of paused containers.
#include "container_world.hpp"
#include "util/strings.hpp"
#include "criu/action_channel.hpp"

#include <future>

#include <gtest/gtest.h>

using namespace gpucr;
using namespace gpucr::ctrtest;

TEST(ContainerCheckpoint, RunsTheRuntimeAndWritesAManifestWithTheContainerAndItsNsPids) {
  World w;
  auto r = checkpoint(w.checkpoint_opts(), w.host);
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
  EXPECT_FALSE(fs::exists(runtime::container_lock_file(w.run, "c1")));
}

TEST(ContainerCheckpoint, WrapperRunsTheEnginesArgumentsVerbatimIntoAnExistingImageDir) {
  World w;
  fs::create_directories(w.tmp / "img");
  std::ofstream(w.tmp / "img/engine-file") << "x";
  fs::permissions(w.tmp / "img", fs::perms(0755));
  auto o = w.checkpoint_opts();
  o.leave_running = true;
  o.container->verbatim = V{"checkpoint", "--image-path", (w.tmp / "img").string(), "--leave-running", "--file-locks", "c1"};
  auto r = checkpoint(o, w.host);
  ASSERT_TRUE(r.status) << r.status.error().what;
  EXPECT_EQ(w.rt.started.at(0), *o.container->verbatim);
  EXPECT_TRUE(read_manifest(w.tmp / "img").value()->container().via_wrapper());
  EXPECT_EQ(fs::status(w.tmp / "img").permissions(), fs::perms(0755)) << "the engine's directory is left as it was";
  EXPECT_TRUE(fs::exists(w.tmp / "img/engine-file"));
  // --leave-running: the container lives on and keeps its (released) lock file.
  EXPECT_TRUE(fs::exists(runtime::container_lock_file(w.run, "c1")));
}

TEST(ContainerCheckpoint, RefusesAStoppedContainerBeforeRunningTheRuntime) {
  World w;
  w.rt.states["c1"].status = "stopped";
  w.rt.states["c1"].pid = 0;
  auto r = checkpoint(w.checkpoint_opts(), w.host);
  ASSERT_FALSE(r.status);
  EXPECT_EQ(r.status.error().exit, Exit::bad_input);
  EXPECT_TRUE(w.rt.started.empty());
}

TEST(ContainerCheckpoint, RefusesAnUnsafeIdBeforeTouchingAnything) {
  World w;
  auto o = w.checkpoint_opts();
  o.container->id = "../../etc";
  auto r = checkpoint(o, w.host);
  ASSERT_FALSE(r.status);
  EXPECT_EQ(r.status.error().exit, Exit::bad_input);
  EXPECT_EQ(w.rt.state_calls, 0);
  EXPECT_FALSE(fs::exists(w.run.root()));
}

TEST(ContainerCheckpoint, RuntimeFailureIsReportedWithItsExitStatusAndWritesNoManifest) {
  World w;
  w.rt.exits.push_back(ExitStatus{.code = 1});
  auto r = checkpoint(w.checkpoint_opts(), w.host);
  ASSERT_FALSE(r.status);
  ASSERT_TRUE(r.runtime_exit);
  EXPECT_EQ(r.runtime_exit->code, 1);
  EXPECT_NE(r.status.error().what.find("fakerunc checkpoint of container c1 failed (exit code 1)"), std::string::npos);
  EXPECT_FALSE(fs::exists(w.tmp / "img" / kManifestFile));
  // The lock is released (another operation can start at once).
  EXPECT_TRUE(runtime::lock_container(w.run, "c1", "t", std::chrono::milliseconds(0)));
}

TEST(ContainerCheckpoint, WaitsForTheContainersLockThenFailsWithoutRunningTheRuntime) {
  World w;
  auto held = runtime::lock_container(w.run, "c1", "restore", std::chrono::milliseconds(0));
  ASSERT_TRUE(held);
  auto o = w.checkpoint_opts();
  o.lock_wait = std::chrono::milliseconds(200);
  auto r = checkpoint(o, w.host);
  ASSERT_FALSE(r.status);
  EXPECT_NE(r.status.error().what.find("busy"), std::string::npos);
  EXPECT_TRUE(w.rt.started.empty());
}

TEST(ContainerCheckpoint, PausedContainerIsThawedForTheGpuStepsThenPausedAgainWithItsCudaProcessRunning) {
  World w;
  w.make_cuda();
  w.rt.states["c1"].status = "paused";  // containerd/CRI-O pause before `checkpoint --leave-running`
  w.freezer.states[(w.tmp / "cg").string()] = freezer::State::frozen;
  auto o = w.checkpoint_opts();
  o.leave_running = true;
  o.container->verbatim = V{"checkpoint", "--image-path", (w.tmp / "img").string(), "--leave-running", "c1"};
  bool checked = false;
  w.rt.on_start = [&](const V& a) {
    ASSERT_EQ(a.at(0), "checkpoint");
    // The runtime dumps a thawed container whose CUDA process is checkpointed, with gpucr's
    // post-dump hook in its criu's configuration.
    EXPECT_EQ(w.freezer.states[(w.tmp / "cg").string()], freezer::State::thawed);
    EXPECT_EQ(w.driver->states[501], cuda::State::checkpointed);
    const auto& env = w.rt.envs.back();
    ASSERT_TRUE(env.count("CRIU_CONFIG_FILE") && env.count("GPUCR_JOURNAL"));
    // The hook, then the private plugin directory (in the operation's scratch dir, RUN_DIR/ops).
    auto conf = split(*read_file(env.at("CRIU_CONFIG_FILE")), '\n');
    ASSERT_GE(conf.size(), 2u);
    EXPECT_EQ(conf[0], "action-script " + fs::canonical("/bin/true").string());
    EXPECT_EQ(conf[1].rfind("libdir " + w.run.ops().string() + "/", 0), 0u) << conf[1];
    auto j = recovery::load_journal(env.at("GPUCR_JOURNAL"));
    ASSERT_TRUE(j);
    EXPECT_EQ(j->phase, "runtime checkpoint");
    EXPECT_EQ(j->criu->pid, 4242) << "the journal names the runtime: recovery waits for it";
    ASSERT_TRUE(j->container);
    EXPECT_EQ(j->container->id, "c1");
    EXPECT_EQ(j->container->runtime, "/fake/runc");
    World::write_inventory(w.tmp / "img");
    checked = true;
  };
  auto r = checkpoint(o, w.host);
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
  EXPECT_TRUE(recovery::list_journals(w.run).empty());
  EXPECT_TRUE(list_dir(w.run.ops()).value().empty()) << "the criu configuration goes with the journal";
}

TEST(ContainerCheckpoint, AContainerThatWasPausedIsPausedAgainThroughItsRuntimeWhenItSaysRunning) {
  World w;
  w.rt.states["c1"].status = "paused";
  w.freezer.states[(w.tmp / "cg").string()] = freezer::State::frozen;
  auto o = w.checkpoint_opts();
  o.leave_running = true;
  w.rt.on_start = [&](const V& a) {
    if (a.at(0) != "checkpoint") return;
    World::write_inventory(w.tmp / "img");
    w.rt.states["c1"].status = "running";  // a runtime with its own view of "paused"
  };
  auto r = checkpoint(o, w.host);
  ASSERT_TRUE(r.status) << r.status.error().what;
  EXPECT_EQ(w.rt.started.back(), (V{"pause", "c1"}));
  EXPECT_TRUE(w.freezer.calls.empty()) << "no CUDA process: the container is never thawed";
}

TEST(ContainerCheckpoint, RuntimeFailureReturnsTheCudaProcessToRunningAndKeepsTheImageUnmarked) {
  World w;
  w.make_cuda();
  w.rt.exits.push_back(ExitStatus{.code = 1});
  auto r = checkpoint(w.checkpoint_opts(), w.host);
  ASSERT_FALSE(r.status);
  EXPECT_EQ(w.driver->states[501], cuda::State::running);
  EXPECT_FALSE(fs::exists(w.tmp / "img" / kManifestFile));
  EXPECT_EQ(listed_plugins(w.tmp / "img"), V{}) << "inventory.img as the runtime's criu wrote it";
  ASSERT_EQ(r.cuda_report.size(), 1u);
  EXPECT_NE(r.cuda_report[0].find("returned to running"), std::string::npos) << r.cuda_report[0];
  EXPECT_TRUE(recovery::list_journals(w.run).empty());
}

namespace {

// A checkpoint command whose criu runs gpucr's post-dump hook for real: it asks the driver over
// the action socket (RUN_DIR/ops/OP.sock, as recovery/action_hook.cpp does) and ends only once
// the answer came.
class HookedRunning : public runtime::Running {
 public:
  explicit HookedRunning(std::shared_future<Status> hook) : hook_(std::move(hook)) {}
  pid_t pid() const override { return 4243; }
  std::optional<ExitStatus> wait_until(Clock::time_point) override {
    if (hook_.wait_for(std::chrono::milliseconds(2)) != std::future_status::ready) return std::nullopt;
    return hook_.get() ? ExitStatus{} : ExitStatus{.code = 1};
  }
  void kill(int) override {}

 private:
  std::shared_future<Status> hook_;
};

class HookingRuntime : public FakeRuntime {
 public:
  explicit HookingRuntime(World& w) : w_(w) {}
  Result<std::unique_ptr<runtime::Running>> start(const std::vector<std::string>& args, const Env& env = {},
                                                  const Started& started_cb = {}) override {
    started.push_back(args);
    envs.push_back(env);
    if (started_cb) started_cb(4243);
    World::write_inventory(w_.tmp / "img");  // criu writes the inventory before post-dump
    fs::path sock = recovery::journal_side_file(env.at("GPUCR_JOURNAL"), ".sock");
    hook = std::async(std::launch::async, [this, sock] {
      auto verdict = criu::ask(sock, "post-dump", Clock::now() + std::chrono::seconds(10));
      // What criu would kill the tree on: the image must be complete by now.
      manifest_at_answer = fs::exists(w_.tmp / "img" / kManifestFile);
      plugins_at_answer = listed_plugins(w_.tmp / "img");
      return verdict;
    }).share();
    return std::unique_ptr<runtime::Running>(new HookedRunning(hook));
  }
  std::shared_future<Status> hook;
  bool manifest_at_answer = false;
  V plugins_at_answer;

 private:
  World& w_;
};

}  // namespace

TEST(ContainerCheckpoint, ThePostDumpHookCompletesTheImageBeforeTheRuntimeEnds) {
  World w;
  w.make_cuda();
  HookingRuntime hooked(w);
  hooked.states = w.rt.states;
  w.seams.runtimes.target = &hooked;
  auto r = checkpoint(w.checkpoint_opts(), w.host);
  ASSERT_TRUE(r.status) << r.status.error().what;
  ASSERT_TRUE(hooked.hook.valid());
  EXPECT_TRUE(hooked.hook.get()) << "the driver answered the hook";
  EXPECT_TRUE(hooked.manifest_at_answer) << "the manifest was in the image when criu got its answer";
  EXPECT_EQ(hooked.plugins_at_answer, V{criu::kCudaPlugin});
  auto m = read_manifest(w.tmp / "img").value().value();
  std::vector<std::string> phases;
  for (const auto& p : m.phases()) phases.push_back(p.name());
  EXPECT_TRUE(gpucr::fakes::in_order(phases, {"gpu checkpoint", "runtime checkpoint"})) << "the final manifest has every timing";
}
