// --device-map planning (src/gpu/cuda/device_map.cpp): completion into the full one-to-one map the
// driver needs, and the messages for maps that can't be completed.
#include "gpu/cuda/device_map.hpp"

#include <gtest/gtest.h>

using namespace gpucr;
using namespace gpucr::cuda;

namespace {

const char* kH100 = "NVIDIA H100 80GB HBM3";
const char* kA100 = "NVIDIA A100-SXM4-80GB";

Uuid uuid(int host, int i) {
  char text[64];
  std::snprintf(text, sizeof text, "GPU-%08x-0000-4000-8000-%012x", 0xfa4e0000 + host, i);
  return *parse_uuid(text);
}

GpuInfo gpu(int host, int i, const char* name = kH100) {
  GpuInfo g;
  g.index = i;
  g.uuid = uuid(host, i);
  g.name = name;
  return g;
}

std::string pairs(const Result<MapPlan>& plan) { return plan ? plan->describe() : "error: " + plan.error().what; }

std::string map(std::initializer_list<std::pair<Uuid, Uuid>> ps) {
  MapPlan p;
  for (const auto& [o, n] : ps) p.pairs.push_back({o, n});
  return p.describe();
}

}  // namespace

TEST(DeviceMap, NoMapIsNeededWhenEveryGpuTheImageNeedsIsHere) {
  auto plan = plan_device_map({gpu(0, 0), gpu(0, 1)}, {uuid(0, 1)}, {gpu(0, 0), gpu(0, 1)}, std::nullopt);
  ASSERT_TRUE(plan);
  EXPECT_TRUE(plan->pairs.empty());
}

TEST(DeviceMap, MissingGpuOfTheSameChipSpellsOutTheFullMap) {
  auto plan = plan_device_map({gpu(0, 0), gpu(0, 1)}, {uuid(0, 0)}, {gpu(1, 0), gpu(1, 1)}, std::nullopt);
  ASSERT_FALSE(plan);
  EXPECT_EQ(plan.error().exit, Exit::missing_dependency);
  EXPECT_EQ(plan.error().what, "the checkpoint needs GPU(s) " + uuid(0, 0).str() + " that this host does not have");
  EXPECT_EQ(plan.error().hint, "this host has the same GPUs under other UUIDs: restore with --device-map auto, which uses --device-map " +
                                   map({{uuid(0, 0), uuid(1, 0)}, {uuid(0, 1), uuid(1, 1)}}));
}

TEST(DeviceMap, SuggestedMapPairsGpusOfTheSameChipAndKeepsThoseStillHere) {
  // Old: H100 (gone), A100 (still here). New: the A100 first, then another H100.
  auto plan = plan_device_map({gpu(0, 0, kH100), gpu(0, 1, kA100)}, {uuid(0, 0)},
                              {gpu(0, 1, kA100), gpu(1, 5, kH100)}, std::nullopt);
  ASSERT_FALSE(plan);
  EXPECT_EQ(plan.error().hint, "this host has the same GPUs under other UUIDs: restore with --device-map auto, which uses --device-map " +
                                   map({{uuid(0, 0), uuid(1, 5)}, {uuid(0, 1), uuid(0, 1)}}));
}

TEST(DeviceMap, MissingGpuWithoutAMatchingHostSaysSo) {
  auto plan = plan_device_map({gpu(0, 0), gpu(0, 1)}, {uuid(0, 0)}, {gpu(1, 0, kA100)}, std::nullopt);
  ASSERT_FALSE(plan);
  EXPECT_EQ(plan.error().exit, Exit::missing_dependency);
  EXPECT_EQ(plan.error().hint,
            "restore on a host with the same GPU chips (2 GPU(s) at checkpoint, 1 here), or pass --device-map");
}

TEST(DeviceMap, PartialMapIsCompletedOneToOne) {
  std::vector<GpuInfo> old = {gpu(0, 0), gpu(0, 1)}, here = {gpu(1, 0), gpu(1, 1)};
  EXPECT_EQ(pairs(plan_device_map(old, {uuid(0, 0)}, here, "0=1")),
            map({{uuid(0, 0), uuid(1, 1)}, {uuid(0, 1), uuid(1, 0)}}));
  EXPECT_EQ(pairs(plan_device_map(old, {uuid(0, 0)}, here, uuid(0, 1).str() + "=" + uuid(1, 0).str())),
            map({{uuid(0, 0), uuid(1, 1)}, {uuid(0, 1), uuid(1, 0)}}));
}

TEST(DeviceMap, CompletionKeepsGpusThatAreStillHere) {
  // A swap on the same host: the user names one pair, the other follows.
  std::vector<GpuInfo> host = {gpu(0, 0), gpu(0, 1), gpu(0, 2)};
  EXPECT_EQ(pairs(plan_device_map(host, {uuid(0, 0)}, host, "0=1")),
            map({{uuid(0, 0), uuid(0, 1)}, {uuid(0, 1), uuid(0, 0)}, {uuid(0, 2), uuid(0, 2)}}));
}

TEST(DeviceMap, CompletionPairsByChip) {
  std::vector<GpuInfo> old = {gpu(0, 0, kA100), gpu(0, 1, kH100)}, here = {gpu(1, 0, kH100), gpu(1, 1, kA100)};
  EXPECT_EQ(pairs(plan_device_map(old, {uuid(0, 1)}, here, "1=0")),
            map({{uuid(0, 0), uuid(1, 1)}, {uuid(0, 1), uuid(1, 0)}}));
}

TEST(DeviceMap, TwoOldGpusOntoOneNewAreRefused) {
  auto plan = plan_device_map({gpu(0, 0), gpu(0, 1)}, {uuid(0, 0)}, {gpu(1, 0), gpu(1, 1)}, "0=0,1=0");
  ASSERT_FALSE(plan);
  EXPECT_EQ(plan.error().exit, Exit::usage);
  EXPECT_EQ(plan.error().what,
            "--device-map maps two checkpointed GPUs onto " + uuid(1, 0).str() + "; the driver needs a one-to-one map");
}

TEST(DeviceMap, OneOldGpuTwiceIsRefused) {
  auto plan = plan_device_map({gpu(0, 0), gpu(0, 1)}, {uuid(0, 0)}, {gpu(1, 0), gpu(1, 1)}, "0=0,0=1");
  ASSERT_FALSE(plan);
  EXPECT_EQ(plan.error().what, "--device-map maps " + uuid(0, 0).str() + " twice");
}

TEST(DeviceMap, AnotherChipIsRefused) {
  auto plan = plan_device_map({gpu(0, 0)}, {uuid(0, 0)}, {gpu(1, 0, kA100)}, "0=0");
  ASSERT_FALSE(plan);
  EXPECT_EQ(plan.error().exit, Exit::usage);
  EXPECT_EQ(plan.error().what, "--device-map: " + uuid(0, 0).str() + " (" + kH100 + ") can't move to " +
                                   uuid(1, 0).str() + " (" + kA100 + "): restore needs a GPU of the same chip");
}

TEST(DeviceMap, TooFewGpusHereCantBeCompleted) {
  auto plan = plan_device_map({gpu(0, 0), gpu(0, 1)}, {uuid(0, 0)}, {gpu(1, 0)}, "0=0");
  ASSERT_FALSE(plan);
  EXPECT_EQ(plan.error().what, "--device-map can't be completed: no free GPU of chip '" + std::string(kH100) +
                                   "' here for " + uuid(0, 1).str() + " (the driver needs every GPU mapped one-to-one)");
}

TEST(DeviceMap, TooManyGpusHereCantBeCompleted) {
  auto plan = plan_device_map({gpu(0, 0)}, {uuid(0, 0)}, {gpu(1, 0), gpu(1, 1)}, "0=1");
  ASSERT_FALSE(plan);
  EXPECT_EQ(plan.error().what,
            "--device-map can't be completed: the checkpoint host had 1 GPU(s), this host has 2 (the driver needs "
            "every GPU mapped one-to-one)");
}

TEST(DeviceMap, BadEntriesAreNamed) {
  std::vector<GpuInfo> old = {gpu(0, 0)}, here = {gpu(1, 0)};
  auto e = [&](const std::string& m) { return plan_device_map(old, {uuid(0, 0)}, here, m).error(); };
  EXPECT_EQ(e("0").what, "--device-map: '0' is not OLD=NEW");
  EXPECT_EQ(e("0=3").what, "--device-map: new GPU index 3 does not exist (1 GPUs)");
  EXPECT_EQ(e("99999999999999999999=0").what, "--device-map: old GPU index 99999999999999999999 does not exist (1 GPUs)");
  EXPECT_EQ(e(uuid(1, 0).str() + "=0").what,
            "--device-map: old GPU " + uuid(1, 0).str() + " is not a GPU of the checkpoint host");
  EXPECT_EQ(e("0=" + uuid(0, 0).str()).what, "--device-map: new GPU " + uuid(0, 0).str() + " is not a GPU of this host");
  EXPECT_EQ(e("GPU-xyz=0").exit, Exit::bad_input);
  EXPECT_EQ(e("0=3").exit, Exit::usage);
}

namespace {

MapInput input(std::vector<GpuInfo> old, std::vector<Uuid> needed, std::vector<GpuInfo> local) {
  MapInput in;
  in.old_gpus = std::move(old);
  in.needed = std::move(needed);
  in.local = std::move(local);
  return in;
}

GpuInfo with_memory(GpuInfo g, std::uint64_t bytes) {
  g.memory_bytes = bytes;
  return g;
}

}  // namespace

TEST(DeviceMap, AutoPicksGpusOfTheSameChipAndCompletesTheMap) {
  auto in = input({gpu(0, 0), gpu(0, 1)}, {uuid(0, 1)}, {gpu(1, 0), gpu(1, 1)});
  in.user_map = "auto";
  auto plan = plan_device_map(in);
  ASSERT_TRUE(plan) << plan.error().what;
  EXPECT_EQ(plan->how, "auto");
  EXPECT_EQ(plan->describe(), map({{uuid(0, 0), uuid(1, 0)}, {uuid(0, 1), uuid(1, 1)}}));
  in.local = {gpu(0, 0), gpu(0, 1)};  // the same GPUs: no map at all
  EXPECT_TRUE(plan_device_map(in)->pairs.empty());
  EXPECT_EQ(plan_device_map(in)->how, "identity");
}

// Found by fuzz_cuda_plan_device_map (corpus crash-auto-gpu-not-in-manifest): a manifest whose GPU
// list lacks a GPU its processes used made `auto` plan nothing and succeed; the restore would
// then fail in the driver. It is the missing-GPU error, and its hint doesn't offer `auto`.
TEST(DeviceMap, AutoRefusesWhenAGpuTheProcessesUsedIsNeitherHereNorInTheManifest) {
  for (auto old : {std::vector<GpuInfo>{}, std::vector<GpuInfo>{gpu(0, 0)}}) {
    auto in = input(old, {uuid(0, 7)}, old.empty() ? std::vector<GpuInfo>{} : std::vector<GpuInfo>{gpu(1, 0)});
    in.user_map = "auto";
    auto plan = plan_device_map(in);
    ASSERT_FALSE(plan) << plan->describe();
    EXPECT_EQ(plan.error().exit, Exit::missing_dependency);
    EXPECT_NE(plan.error().what.find(uuid(0, 7).str()), std::string::npos) << plan.error().what;
    EXPECT_EQ(plan.error().hint.find("--device-map auto"), std::string::npos) << plan.error().hint;
  }
}

TEST(DeviceMap, AutoSkipsGpusWithTooLittleMemoryForWhatTheProcessesUsed) {
  auto in = input({with_memory(gpu(0, 0), 80), with_memory(gpu(0, 1), 80)}, {uuid(0, 0)},
                  {with_memory(gpu(1, 0), 40), with_memory(gpu(1, 1), 80)});
  in.used_bytes[uuid(0, 0)] = 60;
  in.user_map = "auto";
  auto plan = plan_device_map(in);
  ASSERT_TRUE(plan) << plan.error().what;
  EXPECT_EQ(plan->describe(), map({{uuid(0, 0), uuid(1, 1)}, {uuid(0, 1), uuid(1, 0)}}));
  in.used_bytes[uuid(0, 1)] = 60;  // now neither fits on the small one
  auto none = plan_device_map(in);
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().exit, Exit::missing_dependency);
  EXPECT_NE(none.error().what.find("with enough memory (60 B)"), std::string::npos) << none.error().what;
  in.user_map = "0=0";  // and the user's own pair is checked too
  EXPECT_NE(plan_device_map(in).error().what.find("less than the 60 B of device memory"), std::string::npos);
}

TEST(DeviceMap, TheAllocatedGpusTakeTheProcessesWithNoFlag) {
  // The container was given GPU 1 of this host; its process used GPU 0 of the old one.
  auto in = input({gpu(0, 0), gpu(0, 1)}, {uuid(0, 0)}, {gpu(1, 0), gpu(1, 1)});
  in.targets = {uuid(1, 1)};
  in.targets_source = "config.json NVIDIA_VISIBLE_DEVICES=1";
  auto plan = plan_device_map(in);
  ASSERT_TRUE(plan) << plan.error().what;
  EXPECT_EQ(plan->how, "config.json NVIDIA_VISIBLE_DEVICES=1");
  EXPECT_EQ(plan->describe(), map({{uuid(0, 0), uuid(1, 1)}, {uuid(0, 1), uuid(1, 0)}}));
  // given the very GPU it used: identity
  in.local = {gpu(0, 0), gpu(0, 1)};
  in.targets = {uuid(0, 0)};
  EXPECT_TRUE(plan_device_map(in)->pairs.empty());
  // given the other one of the same host: it moves there
  in.targets = {uuid(0, 1)};
  EXPECT_EQ(plan_device_map(in)->describe(), map({{uuid(0, 0), uuid(0, 1)}, {uuid(0, 1), uuid(0, 0)}}));
  // given one of another chip: refused, naming the allocation
  in.local = {gpu(1, 0), gpu(1, 1, kA100)};
  in.targets = {uuid(1, 1)};
  auto bad = plan_device_map(in);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().exit, Exit::missing_dependency);
  EXPECT_NE(bad.error().what.find("the GPUs the restored container was given (config.json NVIDIA_VISIBLE_DEVICES=1"),
            std::string::npos)
      << bad.error().what;
}

TEST(DeviceMap, AnExplicitMapOutranksTheAllocation) {
  auto in = input({gpu(0, 0), gpu(0, 1)}, {uuid(0, 0)}, {gpu(1, 0), gpu(1, 1)});
  in.targets = {uuid(1, 1)};
  in.user_map = "0=0";
  EXPECT_EQ(plan_device_map(in)->describe(), map({{uuid(0, 0), uuid(1, 0)}, {uuid(0, 1), uuid(1, 1)}}));
}

// Found by fuzz_cuda_plan_device_map (tests/fuzz/corpus/cuda_plan_device_map/crash-same-uuid):
// completion keeps a GPU that is still here by UUID whatever its name (a newer driver may name
// the same GPU differently), so the map it then prints must be accepted when given back.
TEST(DeviceMap, TheSameGpuUnderAnotherNameKeepsItsPlaceAndItsMapIsAccepted) {
  GpuInfo renamed = gpu(0, 1, "NVIDIA H100 80GB HBM3 (new driver)");
  std::vector<GpuInfo> old = {gpu(0, 0), gpu(0, 1)}, here = {gpu(1, 0), renamed};
  auto plan = plan_device_map(old, {uuid(0, 0)}, here, "0=0");
  ASSERT_TRUE(plan) << plan.error().what;
  EXPECT_EQ(pairs(plan), map({{uuid(0, 0), uuid(1, 0)}, {uuid(0, 1), uuid(0, 1)}}));
  EXPECT_EQ(pairs(plan_device_map(old, {uuid(0, 0)}, here, plan->describe())), plan->describe());
}
