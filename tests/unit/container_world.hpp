// The world the container target tests run in (test_core_container_checkpoint_target.cpp,
// test_core_container_restore_target.cpp): a fake runtime, process table, GPUs, freezer, CUDA driver.
#pragma once

#include "container_fakes.hpp"
#include "fake_cuda.hpp"
#include "fake_freezer.hpp"
#include "fake_handler_probe.hpp"
#include "core/checkpoint.hpp"
#include "core/restore.hpp"
#include "fakes.hpp"
#include "recovery/journal.hpp"
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

namespace gpucr::ctrtest {

using V = std::vector<std::string>;

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
  gpucr::fakes::CommonSeams seams;
  Host host = seams.host(procs, criu, progress, nvidia, backends, freezer, handlers, nullptr, &gpus);
  const RunDir& run = seams.run;
  std::shared_ptr<gpucr::fakes::FakeCheckpointer> driver;  // the fake driver (make_cuda, restored_as_900)

  World() {
    seams.runtimes.target = &rt;
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
  ContainerRef container() const { return ContainerRef{.id = "c1", .runtime = "/fake/runc", .globals = {"--root", "/fake/root"}}; }
  CheckpointRequest checkpoint_opts() {
    CheckpointRequest o;
    o.container = container();
    o.image_dir = tmp / "img";
    o.lock_wait = std::chrono::milliseconds(0);
    return o;
  }
  RestoreRequest restore_opts() {
    RestoreRequest o;
    o.container = container();
    o.container->bundle = tmp / "bundle";
    o.image_dir = tmp / "img";
    o.detach = true;
    o.lock_wait = std::chrono::milliseconds(0);
    return o;
  }
};

inline std::vector<std::string> listed_plugins(const fs::path& img) {
  auto inv = criu::read_inventory(img);
  EXPECT_TRUE(inv) << inv.error().what;
  return inv ? inv->plugins() : std::vector<std::string>{};
}

inline bool has_view_dir(const fs::path& img) {
  for (const auto& e : fs::directory_iterator(img)) {
    if (e.path().filename().string().rfind(criu::kViewPrefix, 0) == 0) return true;
  }
  return false;
}

// After a checkpoint of World's container: its restore gives init 900 and worker 901, and the
// fake driver knows 901 as CHECKPOINTED (what the image holds).
inline void restored_as_900(World& w) {
  w.driver_knows(901, cuda::State::checkpointed);
  w.rt.on_start = [&w](const V& a) {
    if (a.at(0) != "restore") return;
    w.procs.procs.clear();
    w.procs.add(900, 1, "sh", {900, 1}, "pid:[88]");
    w.procs.add(901, 900, "worker", {901, 7}, "pid:[88]");
    w.rt.states["c1"] = runtime::ContainerState{.id = "c1", .status = "running", .pid = 900, .bundle = w.tmp / "bundle"};
  };
}

}  // namespace gpucr::ctrtest
