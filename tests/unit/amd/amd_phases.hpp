// The fixture of the AMD phase tests (test_core_amd_checkpoint.cpp, test_core_amd_restore.cpp):
// the real checkpoint and restore drivers with fakes for processes, criu, KFD and the topology.
#pragma once

#include "amd_fakes.hpp"
#include "fakes.hpp"
#include "fake_cuda.hpp"
#include "fake_freezer.hpp"
#include "fake_handler_probe.hpp"
#include "core/checkpoint.hpp"
#include "core/manifest.hpp"
#include "core/restore.hpp"
#include "criu/inventory.hpp"
#include "criu/stats.hpp"
#include "gpu/amd/images.hpp"
#include "gpu/amd/topology_pb.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

namespace gpucr::amdtest {

constexpr std::uint64_t GiB = 1ull << 30;

class AmdPhases : public testing::Test {
 protected:
  fs::path tmp = fs::temp_directory_path() / ("gpucr-amd-phases-" + std::to_string(::getpid()));
  fs::path plugins = tmp / "installed-plugins";
  fs::path images = tmp / "img";
  FakeProcs procs;
  RecordingRunner criu;
  NullProgress progress;
  FakeKfd kfd;
  DenyingFiles files;
  AmdHost amd{.kfd = kfd,
              .files = files,
              .topology_root = fixture("one_gpu"),
              .dev_root = tmp / "dev",
              .proc_root = tmp / "proc",
              .plugin_dirs = [this] { return std::vector<fs::path>{plugins}; },
              .getenv = [](const char*) -> const char* { return nullptr; }};
  gpucr::fakes::FakeGpuInventory nvidia;
  gpucr::fakes::FakeBackendFactory cuda_backends;
  gpucr::fakes::FakeFreezer freezer;
  gpucr::fakes::FakeHandlerProbe handlers;
  gpucr::fakes::CommonSeams seams;
  Host host = seams.host(procs, criu, progress, nvidia, cuda_backends, freezer, handlers, &amd);

  void SetUp() override {
    fs::create_directories(plugins);
    for (const char* n : {"amdgpu_plugin.so", "cuda_plugin.so"}) std::ofstream(plugins / n) << "elf";
    files.extra[tmp / "proc/self/status"] = "CapEff:\t000001ffffffffff\n";
    files.extra[tmp / "proc/meminfo"] = "MemAvailable:   67108864 kB\n";  // 64 GiB
    files.extra[tmp / "dev/dri/renderD128"] = "";
    procs.add(100, 1, {{0, "/dev/null"}});
    freezer.lookups[100] = freezer::Lookup{std::nullopt, "in the root cgroup"};
    handlers.handlers["amdgpu_plugin"] = {true, "stand-in", ""};
    criu.on_restore = [this] { procs.add(4242, 1); };
  }
  void TearDown() override { fs::remove_all(tmp); }

  CheckpointReport checkpoint(std::optional<fs::path> plugins_dir = {}) {
    CheckpointRequest o;
    o.pid = 100;
    o.image_dir = images;
    o.criu.plugins_dir = std::move(plugins_dir);
    return gpucr::checkpoint(o, host);
  }

  // A checkpoint image of one AMD process (pid 4242) taken on the `one_gpu` fixture host.
  void write_amd_image(std::uint64_t bo_bytes = 2 * GiB) {
    fs::create_directories(images);
    criu::Inventory inv;
    inv.entry.set_img_version(2);
    inv.set_plugins({"amdgpu_plugin"});
    ASSERT_TRUE(criu::write_inventory(images, inv));
    criu::PstreeEntry e;
    e.set_pid(4242);
    e.set_ppid(0);
    e.set_pgid(4242);
    e.set_sid(4242);
    ASSERT_TRUE(write_file_atomic(images / "pstree.img",
                                  criu::join_entries({criu::kMagicCommon, criu::kMagicPstree}, {e.SerializeAsString()})));
    pb::Manifest m;
    amd::DiskFiles disk;
    amd::to_pb(*amd::read_topology(disk, fixture("one_gpu")), m.mutable_amd()->mutable_topology());
    m.mutable_amd()->add_processes()->set_pid(4242);
    ASSERT_TRUE(write_manifest(images, m));
    criu::CriuKfd kfd_img;
    kfd_img.set_pid(4242);
    auto* bo = kfd_img.add_bo_entries();
    bo->set_gpu_id(0xa99d);
    bo->set_size(bo_bytes);
    bo->set_alloc_flags(amd::kAllocVram);
    ASSERT_TRUE(write_file_atomic(images / "amdgpu-kfd-1.img", amd::serialize_kfd_image(kfd_img)));
  }

  RestoreReport restore(AmdOptions amd_opts = {}) {
    RestoreRequest o;
    o.image_dir = images;
    o.pid_wait = std::chrono::milliseconds(0);
    o.amd = std::move(amd_opts);
    return gpucr::restore(o, host);
  }

  static std::vector<std::string> names(const std::vector<PhaseTiming>& phases) {
    std::vector<std::string> out;
    for (const auto& p : phases) out.push_back(p.name);
    return out;
  }
  // `want` appear in `phases`, in this order (other phases may come between).
  static bool ran_in_order(const std::vector<PhaseTiming>& phases, std::vector<std::string> want) {
    size_t i = 0;
    for (const auto& p : phases) {
      if (i < want.size() && p.name == want[i]) ++i;
    }
    return i == want.size();
  }
};

}  // namespace gpucr::amdtest
