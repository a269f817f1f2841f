// runtime/bundle: a bundle's GPU devices and NVIDIA_VISIBLE_DEVICES.
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

TEST(BundleGpus, FindsGpuDevicesAndNvidiaVisibleDevicesInConfigJson) {
  auto g = runtime::parse_bundle_gpus(R"({"process":{"env":["PATH=/bin","NVIDIA_VISIBLE_DEVICES=0,1"]},
    "linux":{"devices":[{"path":"/dev/nvidia0","type":"c","major":195,"minor":0},
                        {"path":"/dev/nvidiactl","type":"c","major":195,"minor":255},
                        {"path":"/dev/fuse","type":"c","major":10,"minor":229},
                        {"path":"/dev/dri/renderD128","type":"c","major":226,"minor":128},
                        {"path":"/dev/nvidia1","type":"x","major":195,"minor":1},
                        "junk"]}})", "config.json");
  ASSERT_TRUE(g) << g.error().what;
  ASSERT_EQ(g->devices.size(), 3u);
  EXPECT_EQ(g->devices[0].path, "/dev/nvidia0");
  EXPECT_EQ(g->devices[0].kind, "gpu");
  EXPECT_EQ(g->devices[1].kind, "control");
  EXPECT_EQ(g->devices[2].minor, 128u);
  EXPECT_EQ(g->nvidia_visible_devices, "0,1");
  EXPECT_TRUE(g->any());
  EXPECT_FALSE(runtime::parse_bundle_gpus("{]", "config.json"));
  EXPECT_FALSE(runtime::parse_bundle_gpus(R"({"linux":{}})", "c")->any());
}

TEST(BundleGpus, ClassifiesDevicePaths) {
  EXPECT_EQ(runtime::gpu_device_kind("/dev/nvidia12"), "gpu");
  EXPECT_EQ(runtime::gpu_device_kind("/dev/dri/card0"), "gpu");
  EXPECT_EQ(runtime::gpu_device_kind("/dev/nvidia-uvm-tools"), "control");
  EXPECT_EQ(runtime::gpu_device_kind("/dev/kfd"), "control");
  EXPECT_EQ(runtime::gpu_device_kind("/dev/nvidia"), "");
  EXPECT_EQ(runtime::gpu_device_kind("/dev/nvidiafoo"), "");
  EXPECT_EQ(runtime::gpu_device_kind("/dev/null"), "");
}
