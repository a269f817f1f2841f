// hooks/gpu_presence: the host GPU reader (/proc/driver/nvidia, device numbers).
#include "container_fakes.hpp"
#include "hooks/gpu_presence.hpp"
#include "hooks/hooks_file.hpp"
#include "hooks/oci_state.hpp"
#include "runtime/bundle.hpp"
#include "runtime/cgroup.hpp"
#include "runtime/runtime.hpp"
#include "util/file.hpp"

#include <gtest/gtest.h>
#include <fcntl.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

using namespace gpucr;
using gpucr::ctrtest::TempDir;

TEST(GpuPresence, ParsesNvidiaInformationFiles) {
  auto g = hooks::parse_nvidia_information(
      "Model: \t\t NVIDIA H100 80GB HBM3\nIRQ:   \t\t 42\nGPU UUID: \t GPU-8f0c2f5e-1111\nDevice Minor: \t 3\n");
  ASSERT_TRUE(g);
  EXPECT_EQ(g->model, "NVIDIA H100 80GB HBM3");
  EXPECT_EQ(g->uuid, "GPU-8f0c2f5e-1111");
  EXPECT_EQ(g->minor, 3);
  EXPECT_FALSE(hooks::parse_nvidia_information("Model: x\n"));
}

TEST(GpuPresence, SysReaderListsGpusAndChecksDeviceNumbers) {
  TempDir t;
  fs::create_directories(t / "proc/driver/nvidia/gpus/0000:01:00.0");
  ASSERT_TRUE(write_file_atomic(t / "proc/driver/nvidia/gpus/0000:01:00.0/information",
                                "Model: A\nGPU UUID: GPU-a\nDevice Minor: 0\n"));
  fs::create_directories(t / "sys/dev/char");
  ASSERT_TRUE(write_file_atomic(t / "sys/dev/char/195:0", ""));
  fs::create_directories(t / "dev/sub");
  hooks::SysGpuPresence sys(t / "proc", t / "sys", t / "dev");
  auto gpus = sys.gpus();
  ASSERT_TRUE(gpus);
  ASSERT_EQ(gpus->size(), 1u);
  EXPECT_EQ((*gpus)[0].uuid, "GPU-a");
  EXPECT_TRUE(sys.device_exists('c', 195, 0));
  EXPECT_FALSE(sys.device_exists('c', 195, 1));
  // Nodes without a /sys/dev entry (NVIDIA's) are found in /dev: here /dev/null's number, 1:3.
  EXPECT_FALSE(sys.device_exists('c', 1, 3));
  ASSERT_EQ(::symlink("/dev/null", (t / "dev/sub/link").c_str()), 0);
  EXPECT_FALSE(sys.device_exists('c', 1, 3)) << "symlinks are not nodes";
  EXPECT_TRUE(hooks::SysGpuPresence(t / "proc", t / "none", "/dev").device_exists('c', 1, 3));
  EXPECT_FALSE(hooks::SysGpuPresence(t / "proc", t / "none", "/dev").device_exists('b', 1, 3));
  EXPECT_TRUE(hooks::SysGpuPresence(t / "none", t / "sys").gpus()->empty());
}
