// core/gpu_allocation: the GPUs a restored container's new config.json names.
#include "core/gpu_allocation.hpp"

#include <gtest/gtest.h>

using namespace gpucr;

namespace {

cuda::GpuInfo gpu(int index, const std::string& uuid, int minor) {
  cuda::GpuInfo g;
  g.index = index;
  g.uuid = *cuda::parse_uuid(uuid);
  g.name = "NVIDIA H100 80GB HBM3";
  g.minor = minor;
  return g;
}

const std::string kA = "GPU-fa4e0001-0000-4000-8000-000000000000";
const std::string kB = "GPU-fa4e0001-0000-4000-8000-000000000001";
const std::vector<cuda::GpuInfo> kLocal = {gpu(0, kA, 4), gpu(1, kB, 7)};

std::optional<GpuAllocation> from(const std::string& config) {
  auto b = runtime::parse_bundle_gpus(config, "config.json");
  EXPECT_TRUE(b);
  return allocation_from_bundle(*b);
}

std::vector<std::string> resolved(const std::string& config) {
  auto a = from(config);
  if (!a) return {"none named"};
  auto r = resolve_allocation(*a, kLocal);
  if (!r) return {"error: " + r.error().what};
  std::vector<std::string> out;
  for (const auto& u : *r) out.push_back(u.str());
  return out;
}

}  // namespace

TEST(GpuAllocation, NvidiaVisibleDevicesNamesUuidsPrefixesOrIndices) {
  EXPECT_EQ(resolved(R"({"process": {"env": ["NVIDIA_VISIBLE_DEVICES=)" + kB + R"("]}})"), std::vector<std::string>{kB});
  EXPECT_EQ(resolved(R"({"process": {"env": ["NVIDIA_VISIBLE_DEVICES=1,0"]}})"), (std::vector<std::string>{kB, kA}));
  EXPECT_EQ(resolved(R"({"process": {"env": ["NVIDIA_VISIBLE_DEVICES=gpu-fa4e0001-0000-4000-8000-000000000001"]}})"),
            std::vector<std::string>{kB});
  EXPECT_EQ(resolved(R"({"process": {"env": ["NVIDIA_VISIBLE_DEVICES=all"]}})"), std::vector<std::string>{"none named"});
  EXPECT_EQ(resolved(R"({"process": {"env": ["PATH=/bin"]}})"), std::vector<std::string>{"none named"});
  auto ambiguous = resolved(R"({"process": {"env": ["NVIDIA_VISIBLE_DEVICES=GPU-fa4e0001"]}})");
  EXPECT_NE(ambiguous.front().find("names more than one GPU"), std::string::npos) << ambiguous.front();
  auto absent = resolved(R"({"process": {"env": ["NVIDIA_VISIBLE_DEVICES=5"]}})");
  EXPECT_NE(absent.front().find("config.json NVIDIA_VISIBLE_DEVICES=5 names GPU '5', which is not a GPU of this host"),
            std::string::npos)
      << absent.front();
  auto none = resolved(R"({"process": {"env": ["NVIDIA_VISIBLE_DEVICES=none"]}})");
  EXPECT_NE(none.front().find("gives it no GPU"), std::string::npos) << none.front();
}

TEST(GpuAllocation, DeviceNodesComeFirstThenCdiNames) {
  std::string both = R"({"process": {"env": ["NVIDIA_VISIBLE_DEVICES=0"]},
                         "annotations": {"cdi.k8s.io/nvidia": "nvidia.com/gpu=)" + kA + R"("},
                         "linux": {"devices": [{"path": "/dev/nvidia7", "type": "c", "major": 195, "minor": 7},
                                               {"path": "/dev/nvidiactl", "type": "c", "major": 195, "minor": 255}]}})";
  EXPECT_EQ(resolved(both), std::vector<std::string>{kB});
  EXPECT_EQ(from(both)->source, "config.json devices");
  std::string cdi = R"({"annotations": {"cdi.k8s.io/x": "nvidia.com/gpu=1,vendor.com/other=3"}})";
  EXPECT_EQ(resolved(cdi), std::vector<std::string>{kB});
  EXPECT_EQ(from(cdi)->source, "config.json CDI devices");
  EXPECT_EQ(resolved(R"({"annotations": {"cdi.k8s.io/x": "nvidia.com/gpu=all"}})"), std::vector<std::string>{"none named"});
  auto gone = resolved(R"({"linux": {"devices": [{"path": "/dev/nvidia3", "type": "c", "major": 195, "minor": 3}]}})");
  EXPECT_NE(gone.front().find("/dev/nvidia3, which is not a GPU of this host"), std::string::npos) << gone.front();
}

TEST(GpuAllocation, NoConfigJsonNamesNothing) {
  auto a = read_allocation("/nonexistent-bundle");
  ASSERT_TRUE(a);
  EXPECT_FALSE(a->has_value());
}
