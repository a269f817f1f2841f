// Finding a tree's CUDA candidates (src/gpu/cuda/detect.cpp) from a fake process table.
#include "gpu/cuda/detect.hpp"

#include <gtest/gtest.h>

#include <map>

using namespace gpucr;
using namespace gpucr::cuda;

namespace {

// A process table with only what find_candidates reads: fds and mapped files.
class DetectTable : public proc::ProcessTable {
 public:
  struct Proc {
    std::vector<std::string> fds;
    std::vector<std::string> maps;
  };
  std::map<pid_t, Proc> procs;

  Result<proc::ProcInfo> info(pid_t pid) const override {
    if (!procs.count(pid)) return fail("no pid " + std::to_string(pid));
    proc::ProcInfo i;
    i.pid = pid;
    i.comm = "p" + std::to_string(pid);
    return i;
  }
  Result<std::vector<pid_t>> children(pid_t) const override { return std::vector<pid_t>{}; }
  Result<std::vector<pid_t>> all_pids() const override {
    std::vector<pid_t> out;
    for (const auto& [pid, _] : procs) out.push_back(pid);
    return out;
  }
  Result<std::vector<proc::FdEntry>> fds(pid_t pid) const override {
    if (!procs.count(pid)) return fail("gone");
    std::vector<proc::FdEntry> out;
    int n = 3;
    for (const auto& t : procs.at(pid).fds) out.push_back({n++, t});
    return out;
  }
  Result<std::vector<std::string>> mapped_files(pid_t pid) const override {
    if (!procs.count(pid)) return fail("gone");
    return procs.at(pid).maps;
  }
  Result<std::string> cgroup(pid_t) const override { return std::string("0::/\n"); }
  Result<std::string> pid_namespace(pid_t) const override { return std::string("pid:[1]"); }

  std::vector<proc::ProcInfo> tree() const {
    std::vector<proc::ProcInfo> out;
    for (const auto& [pid, _] : procs) out.push_back(*info(pid));
    return out;
  }
};

}  // namespace

TEST(Detect, NvidiaDeviceMinorOfDeviceFilesInAnyDevDirectory) {
  EXPECT_EQ(nvidia_device_minor("/dev/nvidia0"), 0);
  EXPECT_EQ(nvidia_device_minor("/dev/nvidia13"), 13);
  EXPECT_EQ(nvidia_device_minor("/run/fake-cuda/dev/nvidia2"), 2);  // the test suite's fake devices
  EXPECT_EQ(nvidia_device_minor("/dev/nvidiactl"), -1);
  EXPECT_EQ(nvidia_device_minor("/dev/nvidia-uvm"), -1);
  EXPECT_EQ(nvidia_device_minor("/dev/nvidia-uvm-tools"), -1);
  EXPECT_EQ(nvidia_device_minor("/dev/nvidia"), -1);
  EXPECT_EQ(nvidia_device_minor("/dev/null"), kNotNvidia);
  EXPECT_EQ(nvidia_device_minor("/tmp/nvidia0"), kNotNvidia);
  EXPECT_EQ(nvidia_device_minor("/home/devnvidia0"), kNotNvidia);
  EXPECT_EQ(nvidia_device_minor("nvidia0"), kNotNvidia);
  EXPECT_EQ(nvidia_device_minor("socket:[1234]"), kNotNvidia);
  EXPECT_EQ(nvidia_device_minor(""), kNotNvidia);
}

TEST(Detect, CandidatesHoldNvidiaDeviceFilesOrMapLibcuda) {
  DetectTable t;
  t.procs[10] = {{"/dev/null", "pipe:[5]"}, {"/usr/lib/x86_64-linux-gnu/libc.so.6"}};                 // plain
  t.procs[11] = {{"/dev/nvidiactl", "/dev/nvidia1", "/dev/nvidia0", "/dev/nvidia1"},
                 {"/usr/lib/x86_64-linux-gnu/libcuda.so.580.159.04", "/dev/nvidia-uvm"}};            // CUDA app
  t.procs[12] = {{"/x/dev/nvidia3"}, {}};                                                            // fds only
  t.procs[13] = {{}, {"/opt/fake/lib/libcuda.so.1"}};                                                // libcuda only
  t.procs[14] = {{}, {"/usr/lib/libcudart.so.13", "/usr/lib/libnvidia-ml.so.1"}};                     // not libcuda
  auto c = find_candidates(t, t.tree());
  ASSERT_EQ(c.size(), 3u);
  EXPECT_EQ(c[0].info.pid, 11);
  EXPECT_TRUE(c[0].device_fds && c[0].libcuda);
  EXPECT_EQ(c[0].uvm_mappings, 1);  // one nvidia-uvm mapping: no managed memory
  EXPECT_EQ(c[0].minors, (std::vector<int>{0, 1}));
  EXPECT_EQ(c[1].info.pid, 12);
  EXPECT_TRUE(c[1].device_fds && !c[1].libcuda);
  EXPECT_EQ(c[1].minors, std::vector<int>{3});
  EXPECT_EQ(c[2].info.pid, 13);
  EXPECT_TRUE(!c[2].device_fds && c[2].libcuda && c[2].minors.empty());
}

TEST(Detect, ProcessesThatVanishedAreNoCandidates) {
  DetectTable t;
  t.procs[20] = {{"/dev/nvidia0"}, {}};
  auto tree = t.tree();
  proc::ProcInfo gone;
  gone.pid = 21;
  tree.push_back(gone);
  auto c = find_candidates(t, tree);
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].info.pid, 20);
}
