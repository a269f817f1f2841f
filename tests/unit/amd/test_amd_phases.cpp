// The AMD phases inside the real checkpoint and restore drivers, with fakes for processes,
// criu, KFD and the topology: what criu is run with (its --libdir and environment) and when
// gpucr stops before criu runs.
#include "amd_fakes.hpp"
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

using namespace gpucr;
using namespace gpucr::amdtest;
using testing::ElementsAre;
using testing::Contains;
using testing::HasSubstr;
using testing::Not;

namespace {

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
  Host host{procs, criu, progress, nvidia, cuda_backends, freezer, handlers, &amd};

  void SetUp() override {
    fs::create_directories(plugins);
    for (const char* n : {"amdgpu_plugin.so", "cuda_plugin.so"}) std::ofstream(plugins / n) << "elf";
    files.extra[tmp / "proc/self/status"] = "CapEff:\t000001ffffffffff\n";
    files.extra[tmp / "proc/meminfo"] = "MemAvailable:   67108864 kB\n";  // 64 GiB
    files.extra[tmp / "dev/dri/renderD128"] = "";
    procs.add(100, 1, {{0, "/dev/null"}});
    freezer.lookups[100] = freezer::Lookup{std::nullopt, "in the root cgroup"};
    handlers.handlers["amdgpu_plugin"] = {true, "stand-in", ""};
  }
  void TearDown() override { fs::remove_all(tmp); }

  CheckpointReport checkpoint(AmdOptions amd_opts = {}) {
    CheckpointOptions o;
    o.pid = 100;
    o.image_dir = images;
    o.amd = std::move(amd_opts);
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
    RestoreOptions o;
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

}  // namespace

TEST_F(AmdPhases, CpuTreeRunsCriuWithAnEmptyPluginDirectory) {
  auto r = checkpoint();
  ASSERT_TRUE(r.status) << r.status.error().what;
  ASSERT_EQ(criu.runs.size(), 1u);
  ASSERT_TRUE(criu.runs[0].libdir);
  EXPECT_TRUE(criu.runs[0].libdir_entries.empty());
  EXPECT_EQ(criu.runs[0].libdir->parent_path(), images);
  EXPECT_FALSE(fs::exists(*criu.runs[0].libdir));  // removed once criu is done
  EXPECT_TRUE(r.criu_plugins.empty());
  EXPECT_FALSE(r.manifest.has_amd());
  EXPECT_TRUE(ran_in_order(r.phases, {"discover processes", "amd: detect", "criu dump", "write manifest"}));
  EXPECT_THAT(names(r.phases), Not(Contains("amd: preflight")));
  EXPECT_EQ(kfd.calls, 0);  // nothing AMD was asked of the host
}

TEST_F(AmdPhases, AmdTreeRunsCriuWithOnlyTheAmdgpuPlugin) {
  procs.add(101, 100, {{7, "/dev/kfd"}}, {(tmp / "dev/dri/renderD128").string()});  // dev_root is tmp/dev
  auto r = checkpoint();
  ASSERT_TRUE(r.status) << r.status.error().what;
  ASSERT_EQ(criu.runs.size(), 1u);
  EXPECT_THAT(criu.runs[0].libdir_entries, ElementsAre("amdgpu_plugin.so"));
  EXPECT_EQ(criu.runs[0].libdir_targets["amdgpu_plugin.so"], fs::canonical(plugins / "amdgpu_plugin.so"));
  EXPECT_THAT(r.criu_plugins, ElementsAre("amdgpu_plugin"));
  EXPECT_TRUE(ran_in_order(r.phases, {"discover processes", "amd: detect", "amd: preflight", "criu dump",
                                      "write manifest"}));
  auto m = read_manifest(images);
  ASSERT_TRUE(m && *m);
  const auto& a = (*m)->amd();
  ASSERT_EQ(a.processes_size(), 1);
  EXPECT_EQ(a.processes(0).pid(), 101);
  EXPECT_THAT(a.processes(0).kfd_fds(), ElementsAre(7));
  EXPECT_THAT(a.processes(0).render_minors(), ElementsAre(128u));
  EXPECT_EQ(a.topology().nodes_size(), 2);
  EXPECT_EQ(a.topology().nodes(1).properties().at("fw_version"), 78u);
  EXPECT_EQ(a.plugin_path(), (plugins / "amdgpu_plugin.so").string());
  EXPECT_EQ(a.kfd_minor(), 14u);
  EXPECT_THAT(a.criu_plugins(), ElementsAre("amdgpu_plugin"));
}

TEST_F(AmdPhases, TreeWithCudaAndAmdProcessesGetsOnlyAmdgpuNeverCudaPlugin) {
  procs.add(101, 100, {{3, "/dev/nvidiactl"}, {4, "/dev/nvidia0"}}, {"/dev/nvidia-uvm"});
  procs.add(102, 100, {{7, "/dev/kfd"}});
  fakes::FakeCheckpointer* cuda = nullptr;
  cuda_backends.create = fakes::handing_out(cuda);
  host.self_exe = "/bin/true";  // the guardian gpucr starts for CUDA work
  ::setenv("GPUCR_RUN_DIR", (tmp / "run").c_str(), 1);
  cuda_backends.create = [&, make = cuda_backends.create] {
    auto c = make();
    cuda->states[101] = cuda::State::running;
    return c;
  };
  auto r = checkpoint();
  ::unsetenv("GPUCR_RUN_DIR");
  ASSERT_TRUE(r.status) << r.status.error().what;
  EXPECT_THAT(criu.runs.at(0).libdir_entries, ElementsAre("amdgpu_plugin.so"));
  EXPECT_THAT(r.criu_plugins, ElementsAre("amdgpu_plugin"));
  ASSERT_NE(cuda, nullptr);
  EXPECT_EQ(cuda->states[101], cuda::State::checkpointed);  // CUDA handled by gpucr, in one operation
  auto inv = criu::read_inventory(images);
  ASSERT_TRUE(inv);
  EXPECT_THAT(inv->plugins(), ElementsAre("cuda_plugin", "amdgpu_plugin"));
}

TEST_F(AmdPhases, MissingPluginStopsTheCheckpointBeforeCriuAndNamesWhereItLooked) {
  procs.add(101, 100, {{7, "/dev/kfd"}});
  fs::create_directories(tmp / "empty");
  AmdOptions o;
  o.criu_plugins_dir = tmp / "empty";
  auto r = checkpoint(o);
  ASSERT_FALSE(r.status);
  EXPECT_EQ(r.status.error().exit, Exit::missing_dependency);
  EXPECT_THAT(r.status.error().what, HasSubstr("no amdgpu_plugin.so in " + (tmp / "empty").string()));
  EXPECT_THAT(r.status.error().what, HasSubstr("AMD GPU users: 101"));
  EXPECT_TRUE(criu.runs.empty());
}

TEST_F(AmdPhases, KfdWithoutCriuSupportStopsTheCheckpointBeforeCriu) {
  procs.add(101, 100, {{7, "/dev/kfd"}});
  kfd.answer = amd::KfdVersion{1, 6};
  auto r = checkpoint();
  ASSERT_FALSE(r.status);
  EXPECT_EQ(r.status.error().exit, Exit::missing_dependency);
  EXPECT_THAT(r.status.error().what, HasSubstr("1.6"));
  EXPECT_TRUE(criu.runs.empty());
}

TEST_F(AmdPhases, RestoreMapsTheGpusAndRunsCriuWithTheAmdgpuPlugin) {
  write_amd_image();
  auto r = restore();
  ASSERT_TRUE(r.status) << r.status.error().what;
  EXPECT_TRUE(ran_in_order(r.phases, {"read image", "amd: preflight", "wait for pids", "criu restore",
                                      "write pid file"}));
  ASSERT_EQ(criu.runs.size(), 1u);
  EXPECT_THAT(criu.runs[0].libdir_entries, ElementsAre("amdgpu_plugin.so"));
  EXPECT_TRUE(criu.runs[0].env.empty());  // every check on, buffers fit
  EXPECT_EQ(r.root_pid, 4242);
}

TEST_F(AmdPhases, RestoreOntoOlderFirmwareFailsBeforeCriuWithTheTable) {
  write_amd_image();
  amd.topology_root = fixture("fw_older");
  auto r = restore();
  ASSERT_FALSE(r.status);
  const Error& e = r.status.error();
  EXPECT_EQ(e.exit, Exit::missing_dependency);
  EXPECT_THAT(e.what, HasSubstr("can't be mapped onto this host's (1 mismatches"));
  ASSERT_EQ(e.details.size(), 2u);
  EXPECT_THAT(e.details[0], HasSubstr("PROPERTY"));
  EXPECT_THAT(e.details[1], testing::MatchesRegex("0xa99d \\(node 1\\) +0xa99d \\(node 1\\) +fw_version +78 +70 +"
                                                  "<= \\(skip: fw\\)"));
  EXPECT_THAT(e.hint, HasSubstr("--amd-skip-check"));
  EXPECT_TRUE(criu.runs.empty());
}

TEST_F(AmdPhases, SkippedFirmwareCheckIsPassedToThePlugin) {
  write_amd_image();
  amd.topology_root = fixture("fw_older");
  AmdOptions o;
  o.checks.fw = false;
  auto r = restore(o);
  ASSERT_TRUE(r.status) << r.status.error().what;
  EXPECT_EQ(criu.runs.at(0).env, (std::map<std::string, std::string>{{"KFD_FW_VER_CHECK", "0"}}));
}

TEST_F(AmdPhases, MissingRenderNodeOfTheChosenGpuFailsBeforeCriu) {
  write_amd_image();
  files.extra.erase(tmp / "dev/dri/renderD128");
  auto r = restore();
  ASSERT_FALSE(r.status);
  EXPECT_THAT(testing::PrintToString(r.status.error().details), HasSubstr("renderD128 missing"));
  EXPECT_TRUE(criu.runs.empty());
}

TEST_F(AmdPhases, BounceBufferIsCappedWhenTheLargestBufferDoesNotFit) {
  write_amd_image(/*bo_bytes=*/48 * GiB);  // 48 GiB > half of 64 GiB available
  auto r = restore();
  ASSERT_TRUE(r.status) << r.status.error().what;
  EXPECT_EQ(criu.runs.at(0).env.at("KFD_MAX_BUFFER_SIZE"), std::to_string(32 * GiB));
  AmdOptions o;
  o.max_buffer = 1 * GiB;
  criu.runs.clear();
  auto again = restore(o);
  ASSERT_TRUE(again.status) << again.status.error().what;
  EXPECT_EQ(criu.runs.at(0).env.at("KFD_MAX_BUFFER_SIZE"), std::to_string(1 * GiB));
}

TEST_F(AmdPhases, CpuImageRestoresWithAnEmptyPluginDirectoryAndNoAmdPhase) {
  fs::create_directories(images);
  criu::Inventory inv;
  inv.entry.set_img_version(2);
  inv.set_plugins({});
  ASSERT_TRUE(criu::write_inventory(images, inv));
  criu::PstreeEntry e;
  e.set_pid(4242);
  e.set_ppid(0);
  e.set_pgid(4242);
  e.set_sid(4242);
  ASSERT_TRUE(write_file_atomic(images / "pstree.img",
                                criu::join_entries({criu::kMagicCommon, criu::kMagicPstree}, {e.SerializeAsString()})));
  auto r = restore();
  ASSERT_TRUE(r.status) << r.status.error().what;
  EXPECT_TRUE(ran_in_order(r.phases, {"read image", "wait for pids", "criu restore", "write pid file"}));
  EXPECT_THAT(names(r.phases), Not(Contains("amd: preflight")));
  EXPECT_TRUE(criu.runs.at(0).libdir_entries.empty());
  EXPECT_TRUE(criu.runs.at(0).env.empty());
  EXPECT_EQ(kfd.calls, 0);
}
