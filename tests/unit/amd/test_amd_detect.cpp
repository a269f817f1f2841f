// Which processes of a tree use AMD GPUs (with the in-memory process table: this machine has
// no /dev/kfd, and a process can't honestly hold a KFD fd without one).
#include "amd_fakes.hpp"
#include "gpu/amd/detect.hpp"
#include "gpu/amd/topology_read.hpp"

#include <gtest/gtest.h>

using namespace gpucr;
using namespace gpucr::amd;
using gpucr::amdtest::FakeProcs;

namespace {

std::vector<proc::ProcInfo> tree_of(const FakeProcs& p, pid_t root) { return *proc::process_tree(p, root); }

DetectConfig config() {
  DetectConfig c;
  c.amd_render_minors = {128, 136};
  return c;
}

}  // namespace

TEST(AmdDetect, KfdFdMarksAProcess) {
  FakeProcs p;
  p.add(100, 1, {{3, "/dev/null"}, {7, "/dev/kfd"}});
  p.add(101, 100, {{0, "/dev/null"}});
  auto found = find_amd_processes(p, tree_of(p, 100), config());
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].pid, 100);
  EXPECT_EQ(found[0].kfd_fds, std::vector<int>{7});
  EXPECT_TRUE(found[0].render_minors.empty());
}

TEST(AmdDetect, AmdRenderNodeOpenOrMappedMarksAProcess) {
  FakeProcs p;
  p.add(100, 1);
  p.add(101, 100, {{5, "/dev/dri/renderD136"}});
  p.add(102, 100, {}, {"/usr/lib/libc.so.6", "/dev/dri/renderD128"});
  auto found = find_amd_processes(p, tree_of(p, 100), config());
  ASSERT_EQ(found.size(), 2u);
  EXPECT_EQ(found[0].pid, 101);
  EXPECT_EQ(found[0].render_minors, (std::set<std::uint32_t>{136}));
  EXPECT_EQ(found[1].pid, 102);
  EXPECT_EQ(found[1].render_minors, (std::set<std::uint32_t>{128}));
}

TEST(AmdDetect, RenderNodeOfAnotherVendorIsNotAmd) {
  FakeProcs p;
  p.add(100, 1, {{5, "/dev/dri/renderD129"}, {6, "/dev/dri/card0"}, {7, "/dev/dri/renderD128x"}});
  EXPECT_TRUE(find_amd_processes(p, tree_of(p, 100), config()).empty());
}

TEST(AmdDetect, CpuOnlyTreeHasNoAmdProcess) {
  FakeProcs p;
  p.add(100, 1, {{0, "/dev/null"}, {1, "pipe:[1234]"}}, {"/usr/bin/sleep"});
  p.add(101, 100, {{0, "/dev/nvidiactl"}}, {"/dev/nvidia0"});
  EXPECT_TRUE(find_amd_processes(p, tree_of(p, 100), config()).empty());
}

TEST(AmdDetect, ProcessThatEndedDuringTheScanIsSkipped) {
  FakeProcs p;
  p.add(100, 1, {{7, "/dev/kfd"}});
  p.add(101, 100, {{7, "/dev/kfd"}});
  auto tree = tree_of(p, 100);
  p.procs.erase(101);
  auto found = find_amd_processes(p, tree, config());
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].pid, 100);
}

TEST(AmdDetect, RenderMinorsComeFromTheTopology) {
  DiskFiles files;
  auto t = read_topology(files, gpucr::amdtest::fixture("two_gpus"));
  ASSERT_TRUE(t);
  EXPECT_EQ(render_minors(*t), (std::set<std::uint32_t>{128, 136}));
  EXPECT_EQ(render_minor_of("/dev/dri", "/dev/dri/renderD130"), 130u);
  EXPECT_FALSE(render_minor_of("/dev/dri", "/dev/dri/card1"));
}
