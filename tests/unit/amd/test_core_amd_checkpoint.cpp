// core/amd_checkpoint: the AMD phases of the checkpoint driver: which plugins criu runs with and
// when gpucr stops before criu runs.
#include "amd_phases.hpp"

using namespace gpucr;
using namespace gpucr::amdtest;
using testing::ElementsAre;
using testing::Contains;
using testing::HasSubstr;
using testing::Not;

TEST_F(AmdPhases, CpuTreeRunsCriuWithAnEmptyPluginDirectory) {
  auto r = checkpoint();
  ASSERT_TRUE(r.status) << r.status.error().what;
  ASSERT_EQ(criu.runs.size(), 1u);
  ASSERT_TRUE(criu.runs[0].libdir);
  EXPECT_TRUE(criu.runs[0].libdir_entries.empty());
  // In the operation's scratch directory (RUN_DIR/ops/<op>.tmp), never in the image directory:
  // a killed gpucr leaves nothing there (recovery removes the scratch directory).
  EXPECT_EQ(criu.runs[0].libdir->parent_path().parent_path(), seams.run.ops());
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
  auto r = checkpoint(tmp / "empty");
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
