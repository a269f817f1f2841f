// What the prestart/poststop hooks do, the GPU records and checks, install/uninstall.
#include "container_fakes.hpp"
#include "fake_cuda.hpp"
#include "fake_freezer.hpp"
#include "fakes.hpp"
#include "core/container_gpus.hpp"
#include "core/container_hooks.hpp"
#include "recovery/journal.hpp"
#include "core/install.hpp"
#include "core/manifest.hpp"
#include "runtime/lock.hpp"
#include "runtime/paths.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

using namespace gpucr;
using namespace gpucr::ctrtest;
using namespace gpucr::recovery;
using V = std::vector<std::string>;

namespace {

struct HookWorld {
  TempDir tmp;
  FakeGpus gpus;
  gpucr::fakes::FakeGpuInventory nvidia;
  FakeProcs procs;  // nobody alive: every journal's owner and guardian are gone
  gpucr::fakes::FakeBackendFactory backends;  // none: "no CUDA checkpoint backend"
  gpucr::fakes::FakeFreezer freezer;
  gpucr::fakes::FakeRuntimeFactory runtimes;
  gpucr::fakes::FakeTime time;
  gpucr::fakes::FakeControl control;
  HookContext ctx{.run = RunDir(tmp / "run", ::geteuid())};
  Seams deps{procs, control, backends, freezer, runtimes, ctx.run, time, "/bin/true"};

  HookWorld() {
    fs::create_directories(tmp / "bundle");
    ctx.state = {.oci_version = "1.0.2", .id = "c1", .status = "creating", .pid = 77, .bundle = tmp / "bundle"};
    ctx.parent_cwd = tmp.path();
    ctx.parent_argv = {"runc", "--root", "/r", "create", "--bundle", (tmp / "bundle").string(), "c1"};
  }
  void config(const std::string& json) { std::ofstream(tmp / "bundle/config.json") << json; }
  fs::path record() { return runtime::container_dir(ctx.run, "c1") / kDevicesRecord; }
  // An image dir whose manifest says the container used `dev`.
  fs::path image_needing(const pb::GpuDevice& dev) {
    pb::Manifest m;
    m.mutable_container()->set_id("c1");
    *m.mutable_container()->add_gpu_devices() = dev;
    fs::create_directories(tmp / "img");
    EXPECT_TRUE(write_manifest(tmp / "img", m));
    return tmp / "img";
  }
};

pb::GpuDevice device(unsigned minor, std::string uuid) {
  pb::GpuDevice d;
  d.set_path("/dev/nvidia0");
  d.set_kind("gpu");
  d.set_type("c");
  d.set_major(195);
  d.set_minor(minor);
  d.set_uuid(std::move(uuid));
  return d;
}

}  // namespace

TEST(HookPrestart, CreateRecordsTheGpuDevicesOfAGpuContainer) {
  HookWorld w;
  w.config(R"({"linux":{"devices":[{"path":"/dev/nvidia0","type":"c","major":195,"minor":0}]}})");
  auto r = hook_prestart(w.ctx, w.gpus, w.nvidia);
  ASSERT_TRUE(r) << r.error().what;
  auto rec = read_devices_record(w.ctx.run, "c1");
  ASSERT_TRUE(rec && *rec);
  ASSERT_EQ((*rec)->devices.size(), 1u);
  EXPECT_EQ((*rec)->devices[0].path, "/dev/nvidia0");
}

TEST(HookPrestart, CreateWritesNothingForAContainerWithoutGpus) {
  HookWorld w;
  w.config(R"({"linux":{"devices":[]}})");
  ASSERT_TRUE(hook_prestart(w.ctx, w.gpus, w.nvidia));
  EXPECT_FALSE(fs::exists(w.ctx.run.root()));
}

TEST(HookPrestart, RefusesAHostileContainerId) {
  HookWorld w;
  w.config(R"({"linux":{"devices":[{"path":"/dev/nvidia0","type":"c","major":195,"minor":0}]}})");
  w.ctx.state.id = "../../etc";
  auto r = hook_prestart(w.ctx, w.gpus, w.nvidia);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().exit, Exit::bad_input);
  EXPECT_FALSE(fs::exists(w.ctx.run.root()));
}

TEST(HookPrestart, DuringARestoreFailsWhenTheCheckpointsGpuIsMissing) {
  HookWorld w;
  auto img = w.image_needing(device(1, "GPU-one"));
  w.ctx.parent_argv = {"/usr/sbin/runc", "--root", "/r", "restore", "--detach", "--image-path", img.string(), "c1"};
  w.gpus.host = {{"GPU-zero", "Test", 0}};
  auto r = hook_prestart(w.ctx, w.gpus, w.nvidia);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().exit, Exit::missing_dependency);
  EXPECT_NE(r.error().details.at(0).find("GPU-one"), std::string::npos);
  EXPECT_NE(r.error().details.at(1).find("GPU-zero"), std::string::npos);
  w.gpus.host.push_back({"GPU-one", "Test", 1});
  EXPECT_TRUE(hook_prestart(w.ctx, w.gpus, w.nvidia));
  EXPECT_FALSE(fs::exists(w.record()));  // a restore records nothing
}

TEST(HookPrestart, WithoutUuidTheDeviceNumberMustExist) {
  HookWorld w;
  auto img = w.image_needing(device(250, ""));
  w.ctx.parent_argv = {"runc", "restore", "--image-path", img.string(), "c1"};
  EXPECT_FALSE(hook_prestart(w.ctx, w.gpus, w.nvidia));
  w.gpus.devices.insert({'c', 195, 250});
  EXPECT_TRUE(hook_prestart(w.ctx, w.gpus, w.nvidia));
}

namespace {

const char* kOldGpu = "GPU-aaaaaaaa-0000-4000-8000-000000000000";
const char* kNewGpu = "GPU-bbbbbbbb-0000-4000-8000-000000000000";

cuda::GpuInfo gpu_info(const char* uuid, std::string name) {
  cuda::GpuInfo g;
  g.uuid = *cuda::parse_uuid(uuid);
  g.name = std::move(name);
  g.minor = 0;
  return g;
}

// An image whose one CUDA process used kOldGpu (an H100) on a host with only that GPU.
fs::path cuda_image(HookWorld& w) {
  pb::Manifest m;
  auto* p = m.add_cuda_processes();
  p->set_pid(500);
  p->add_gpu_uuids(kOldGpu);
  auto* g = m.add_host_gpus();
  g->set_uuid(kOldGpu);
  g->set_name("H100");
  fs::create_directories(w.tmp / "img");
  EXPECT_TRUE(write_manifest(w.tmp / "img", m));
  w.ctx.parent_argv = {"runc", "restore", "--image-path", (w.tmp / "img").string(), "c1"};
  return w.tmp / "img";
}

// A journal file of an operation whose gpucr and guardian are gone (no process in FakeProcs).
fs::path stale_journal(const RunDir& run, const std::string& name, const std::string& container) {
  JournalData d;
  d.id = name;
  d.op = "checkpoint";
  d.owner = {123456, 1};
  d.processes.push_back({{4000, 1}, {4000, 7}, cuda::State::running, 0});
  if (!container.empty()) d.container = JournalContainer{container, "/fake/runc", {}};
  EXPECT_TRUE(run.ensure("ops"));
  fs::path path = run.ops() / (name + ".json");
  EXPECT_TRUE(write_file_atomic(path, to_json(d).dump(), 0600));
  return path;
}

}  // namespace

TEST(HookPrestart, DuringARestoreTheCudaGpusMustBeHereElseTheErrorGivesTheExactDeviceMap) {
  HookWorld w;
  cuda_image(w);
  w.nvidia.list = {gpu_info(kNewGpu, "H100")};  // the same chip under another UUID
  auto r = hook_prestart(w.ctx, w.gpus, w.nvidia);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().exit, Exit::missing_dependency);
  EXPECT_NE(r.error().what.find(kOldGpu), std::string::npos) << r.error().what;
  EXPECT_EQ(r.error().hint, std::string("this host has the same GPUs under other UUIDs: restore with --device-map auto, which uses "
                                            "--device-map ") +
                                kOldGpu + "=" + kNewGpu);
  w.nvidia.list = {gpu_info(kOldGpu, "H100")};
  auto ok = hook_prestart(w.ctx, w.gpus, w.nvidia);
  ASSERT_TRUE(ok) << ok.error().what;
  EXPECT_NE(ok->find("1 CUDA process(es)"), std::string::npos) << *ok;
}

TEST(HookPrestart, ARestoreGpucrOrchestratesIsLeftToGpucr) {
  HookWorld w;
  cuda_image(w);
  w.nvidia.list = {gpu_info(kNewGpu, "H100")};  // gpucr restores with its own --device-map
  auto lock = runtime::lock_container(w.ctx.run, "c1", "restore", std::chrono::milliseconds(0));
  ASSERT_TRUE(lock);
  auto r = hook_prestart(w.ctx, w.gpus, w.nvidia);
  ASSERT_TRUE(r) << r.error().what;
  EXPECT_NE(r->find("orchestrated by gpucr"), std::string::npos) << *r;
  lock->release();
  EXPECT_FALSE(hook_prestart(w.ctx, w.gpus, w.nvidia));  // nobody orchestrates: checked, refused
}

TEST(HookPoststop, FinishesTheStaleJournalsOfThisContainerOnly) {
  HookWorld w;
  auto mine = stale_journal(w.ctx.run, "checkpoint-1-aaaa", "c1");
  auto other = stale_journal(w.ctx.run, "checkpoint-2-bbbb", "c2");
  auto tree = stale_journal(w.ctx.run, "checkpoint-3-cccc", "");
  auto r = hook_poststop(w.ctx, w.deps);
  ASSERT_TRUE(r) << r.error().what;
  EXPECT_NE(r->find("finished 1 unfinished operation"), std::string::npos) << *r;
  EXPECT_FALSE(fs::exists(mine));
  EXPECT_TRUE(fs::exists(other));
  EXPECT_TRUE(fs::exists(tree));
  auto log = read_file(w.tmp / "run/recovery.log");
  ASSERT_TRUE(log);
  EXPECT_NE(log->find("poststop of container c1"), std::string::npos);
  EXPECT_NE(log->find("pid 4000: gone, nothing to do"), std::string::npos) << *log;
}

TEST(HookPoststop, LeavesTheJournalOfALiveOperationAlone) {
  HookWorld w;
  auto live = stale_journal(w.ctx.run, "checkpoint-4-dddd", "c1");
  w.procs.add(123456, 1, "gpucr");  // the owner (start time 1000 + pid in FakeProcs)
  auto d = recovery::load_journal(live);
  ASSERT_TRUE(d);
  d->owner = {123456, 1000 + 123456};
  ASSERT_TRUE(write_file_atomic(live, to_json(*d).dump(), 0600));
  auto r = hook_poststop(w.ctx, w.deps);
  ASSERT_TRUE(r);
  EXPECT_NE(r->find("no unfinished operation"), std::string::npos) << *r;
  EXPECT_TRUE(fs::exists(live));
}

TEST(HookPrestart, RestoreImagePathIsFoundInTheParentRuntimesCommandLine) {
  EXPECT_EQ(restore_image_of({"runc", "restore", "--image-path", "/i", "c1"}, "/cwd", "c1"), fs::path("/i"));
  EXPECT_EQ(restore_image_of({"runc", "--root", "/r", "restore", "-d", "c1"}, "/cwd", "c1"), fs::path("/cwd/checkpoint"));
  EXPECT_EQ(restore_image_of({"runc", "restore", "--image-path", "rel", "c1"}, "/cwd", "c1"), fs::path("/cwd/rel"));
  EXPECT_FALSE(restore_image_of({"runc", "restore", "--image-path", "/i", "other"}, "/cwd", "c1"));
  EXPECT_FALSE(restore_image_of({"runc", "create", "c1"}, "/cwd", "c1"));
  EXPECT_FALSE(restore_image_of({}, "/cwd", "c1"));
}

TEST(HookPoststop, RemovesTheRecordsAndTheFreeLockFile) {
  HookWorld w;
  w.config(R"({"linux":{"devices":[{"path":"/dev/nvidia0","type":"c","major":195,"minor":0}]}})");
  ASSERT_TRUE(hook_prestart(w.ctx, w.gpus, w.nvidia));
  { auto l = runtime::lock_container(w.ctx.run, "c1", "t", std::chrono::milliseconds(0)); }
  ASSERT_TRUE(fs::exists(runtime::container_lock_file(w.ctx.run, "c1")));
  w.ctx.state.status = "stopped";
  auto r = hook_poststop(w.ctx, w.deps);
  ASSERT_TRUE(r) << r.error().what;
  EXPECT_FALSE(fs::exists(runtime::container_dir(w.ctx.run, "c1")));
  EXPECT_FALSE(fs::exists(runtime::container_lock_file(w.ctx.run, "c1")));
}

TEST(HookPoststop, LeavesTheLockOfARunningOperationAlone) {
  HookWorld w;
  auto held = runtime::lock_container(w.ctx.run, "c1", "checkpoint", std::chrono::milliseconds(0));
  ASSERT_TRUE(held);
  auto r = hook_poststop(w.ctx, w.deps);
  ASSERT_TRUE(r);
  EXPECT_TRUE(fs::exists(runtime::container_lock_file(w.ctx.run, "c1")));
  EXPECT_NE(r->find("stays"), std::string::npos);
}

TEST(ContainerGpus, CheckNamesEveryMissingGpuAndIgnoresControlDevices) {
  FakeGpus g;
  g.host = {{"GPU-a", "A", 0}};
  pb::Container c;
  c.set_id("c1");
  *c.add_gpu_devices() = device(0, "GPU-a");
  auto ctl = device(255, "");
  ctl.set_kind("control");
  *c.add_gpu_devices() = ctl;
  EXPECT_TRUE(check_gpus_present(c, g));
  *c.add_gpu_devices() = device(1, "GPU-b");
  *c.add_gpu_devices() = device(2, "GPU-c");
  auto st = check_gpus_present(c, g);
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().what.find("needs 2 GPU(s)"), std::string::npos);
}

TEST(Install, RoundTripWritesHooksAndLinksThenUninstallRemovesExactlyThose) {
  TempDir t;
  fs::create_directories(t / "bin");
  std::ofstream(t / "bin/gpucr") << "binary";
  InstallOptions o{.gpucr_binary = t / "bin/gpucr", .run_dir = "/run/gpucr", .hooks_dir = t / "hooks.d",
                   .bin_dir = t / "links", .podman_conf = t / "podman.conf"};
  std::ofstream(t / "stranger.json") << "{}";
  auto lines = install(o);
  ASSERT_TRUE(lines) << lines.error().what;
  EXPECT_TRUE(fs::exists(t / "hooks.d/90-gpucr-prestart.json"));
  EXPECT_TRUE(fs::exists(t / "hooks.d/90-gpucr-poststop.json"));
  EXPECT_EQ(fs::read_symlink(t / "links/gpucr-runc"), t / "bin/gpucr");
  EXPECT_TRUE(fs::is_symlink(t / "links/gpucr-crun"));
  EXPECT_TRUE(fs::exists(t / "podman.conf"));
  EXPECT_TRUE(install(o));  // again: replaces its own files
  std::ofstream(t / "hooks.d/other-hook.json") << "{}";
  auto removed = uninstall(o);
  ASSERT_TRUE(removed);
  EXPECT_EQ(removed->size(), 5u);
  EXPECT_FALSE(fs::exists(t / "hooks.d/90-gpucr-prestart.json"));
  EXPECT_FALSE(fs::exists(fs::symlink_status(t / "links/gpucr-runc")));
  EXPECT_FALSE(fs::exists(t / "podman.conf"));
  EXPECT_TRUE(fs::exists(t / "hooks.d/other-hook.json"));
  EXPECT_TRUE(fs::exists(t / "bin/gpucr"));
}

TEST(Install, NeverOverwritesOrRemovesAFileItDidNotWrite) {
  TempDir t;
  fs::create_directories(t / "hooks.d");
  std::ofstream(t / "hooks.d/90-gpucr-prestart.json") << R"({"hook":{"args":["mine"]}})";
  InstallOptions o{.gpucr_binary = "/x/gpucr", .run_dir = "/run/gpucr", .hooks_dir = t / "hooks.d",
                   .bin_dir = t / "links", .links = false};
  EXPECT_FALSE(install(o));
  auto removed = uninstall(o);
  ASSERT_TRUE(removed);
  ASSERT_EQ(removed->size(), 1u);
  EXPECT_EQ((*removed)[0].rfind("left ", 0), 0u);
  EXPECT_TRUE(fs::exists(t / "hooks.d/90-gpucr-prestart.json"));
}
