// core/destination: can this host take a checkpoint? The verdict, and the GPU map it would use.
#include "core/destination.hpp"

#include "core/requirements.hpp"
#include "fake_cuda.hpp"
#include "fakes.hpp"

#include <gtest/gtest.h>

using namespace gpucr;
using namespace gpucr::fakes;

namespace {

const char* kH100 = "NVIDIA H100 80GB HBM3";
const char* kA100 = "NVIDIA A100-SXM4-80GB";

std::string uuid(int host, int i) {
  char text[64];
  std::snprintf(text, sizeof text, "GPU-%08x-0000-4000-8000-%012x", 0xfa4e0000 + host, i);
  return text;
}

cuda::GpuInfo gpu(int host, int i, const char* name = kH100, std::uint64_t memory = 85520809984) {
  cuda::GpuInfo g;
  g.index = i;
  g.uuid = *cuda::parse_uuid(uuid(host, i));
  g.name = name;
  g.memory_bytes = memory;
  g.minor = i;
  g.driver_version = "580.159.04";
  return g;
}

pb::Manifest manifest(std::uint64_t pages = 1 << 20) {
  pb::Manifest m;
  m.set_criu_version("4.1.1");
  m.set_nvidia_driver_version("580.159.04");
  for (int i = 0; i < 2; ++i) {
    auto* g = m.add_host_gpus();
    g->set_uuid(uuid(0, i));
    g->set_name(kH100);
    g->set_memory_bytes(85520809984);
    g->set_index(i);
  }
  auto* p = m.add_cuda_processes();
  p->add_gpu_uuids(uuid(0, 0));
  p->set_device_memory_bytes(4ull << 30);
  auto r = requirements_of(m);
  r.set_host_memory_bytes(pages);
  *m.mutable_requirements() = r;
  return m;
}

Destination here(std::vector<cuda::GpuInfo> gpus, std::uint64_t mem = 64ull << 30, criu::Version v = {4, 1, 1}) {
  Destination d;
  d.gpus_known = true;
  d.gpus = std::move(gpus);
  d.mem_available = mem;
  d.criu = v;
  return d;
}

}  // namespace

TEST(Destination, AHostWithTheChipsMemoryAndCriuTakesIt) {
  auto v = judge_destination(manifest(), here({gpu(1, 0), gpu(1, 1)}));
  EXPECT_TRUE(v.ok()) << v.refusals.front();
  EXPECT_TRUE(v.status("x").ok());
  EXPECT_TRUE(v.notes.empty());
}

TEST(Destination, EachRefusalSaysWhy) {
  auto no_chip = judge_destination(manifest(), here({gpu(1, 0, kA100), gpu(1, 1, kA100)}));
  ASSERT_FALSE(no_chip.ok());
  EXPECT_EQ(no_chip.exit, Exit::missing_dependency);
  EXPECT_EQ(no_chip.refusals.front(),
            std::string("the checkpoint's CUDA processes ran on 1 GPU(s) of model ") + kH100 +
                "; this host has none of that model (it has 2 GPU(s): " + kA100 + ", " + kA100 + ")");

  auto small = judge_destination(manifest(), here({gpu(1, 0, kH100, 1ull << 30), gpu(1, 1, kH100, 1ull << 30)}));
  ASSERT_FALSE(small.ok());
  EXPECT_NE(small.refusals.front().find("had 4.0 GiB on one"), std::string::npos) << small.refusals.front();

  auto memory = judge_destination(manifest(8ull << 30), here({gpu(1, 0), gpu(1, 1)}, 2ull << 30));
  ASSERT_FALSE(memory.ok());
  EXPECT_EQ(memory.exit, Exit::not_permitted);
  EXPECT_EQ(memory.refusals.front(), "the restored processes need 8.0 GiB of host memory (their page images, with 4.0 GiB "
                                     "of GPU memory staged by the driver); this host has 2.0 GiB available");
  auto tmpfs = judge_destination(manifest(1ull << 30), here({gpu(1, 0), gpu(1, 1)}, 3ull << 30), 3ull << 30);
  EXPECT_NE(tmpfs.refusals.front().find("and 3.0 GiB for the images on tmpfs"), std::string::npos);

  auto old = judge_destination(manifest(), here({gpu(1, 0), gpu(1, 1)}, 64ull << 30, {4, 0, 9}));
  ASSERT_FALSE(old.ok());
  EXPECT_EQ(old.exit, Exit::missing_dependency);
  EXPECT_NE(old.refusals.front().find("criu 4.0.9 here is older than criu 4.1.1"), std::string::npos);
  EXPECT_TRUE(judge_destination(manifest(), here({gpu(1, 0), gpu(1, 1)}, 64ull << 30, {4, 1, 0})).ok())
      << "only major.minor count";

  auto all = judge_destination(manifest(8ull << 30), here({}, 1, {3, 17, 1}));
  EXPECT_EQ(all.refusals.size(), 3u);
  auto st = all.status("archive a.tar");
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().what.rfind("archive a.tar can't be restored on this host: ", 0), 0u) << st.error().what;
  EXPECT_EQ(st.error().details.size(), 2u);
}

TEST(Destination, AnotherDriverIsANoteNotARefusal) {
  auto g = gpu(1, 0);
  g.driver_version = "590.1";
  auto v = judge_destination(manifest(), here({g, gpu(1, 1)}));
  EXPECT_TRUE(v.ok());
  ASSERT_EQ(v.notes.size(), 1u);
  EXPECT_EQ(v.notes.front(), "checkpointed with NVIDIA driver 580.159.04; this host runs 590.1");
}

TEST(Destination, TheDriversPhaseJudgesMemoryAndCriuOnly) {
  FakeHost h;
  h.procs.available = 1 << 20;
  auto st = check_destination(manifest(8ull << 30), h.host);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().exit, Exit::not_permitted);
  h.procs.available = 64ull << 30;  // no GPU here, but the GPU map is "plan GPU restore"'s business
  EXPECT_TRUE(check_destination(manifest(), h.host));
  EXPECT_TRUE(check_destination(std::nullopt, h.host)) << "a plain criu image";
}

TEST(Destination, TheMapItWouldUse) {
  FakeHost h;
  h.procs.available = 64ull << 30;
  h.gpus.list = {gpu(0, 0), gpu(0, 1)};
  auto same = assess_destination(manifest(), h.host, "/nonexistent", std::nullopt, std::nullopt);
  ASSERT_TRUE(same);
  ASSERT_TRUE(same->map);
  EXPECT_TRUE(same->map->pairs.empty());
  EXPECT_NE(to_text(*same).find("none needed"), std::string::npos) << to_text(*same);

  h.gpus.list = {gpu(1, 0), gpu(1, 1)};
  auto other = assess_destination(manifest(), h.host, "/nonexistent", std::nullopt, std::nullopt);
  ASSERT_TRUE(other);
  EXPECT_FALSE(other->map);
  ASSERT_TRUE(other->auto_map);
  std::string want = uuid(0, 0) + "=" + uuid(1, 0) + "," + uuid(0, 1) + "=" + uuid(1, 1);
  EXPECT_EQ(other->auto_map->describe(), want);
  EXPECT_NE(to_text(*other).find("with --device-map auto: " + want), std::string::npos) << to_text(*other);
  EXPECT_EQ(to_json(*other)["gpu_map"]["auto"], want);

  GpuAllocation alloc;
  alloc.source = "config.json NVIDIA_VISIBLE_DEVICES=1";
  alloc.names = {"1"};
  auto given = assess_destination(manifest(), h.host, "/nonexistent", std::nullopt, alloc);
  ASSERT_TRUE(given);
  ASSERT_TRUE(given->map) << given->map_error->what;
  EXPECT_EQ(given->map->describe(), uuid(0, 0) + "=" + uuid(1, 1) + "," + uuid(0, 1) + "=" + uuid(1, 0));
}

TEST(Destination, CriuVersionsParse) {
  EXPECT_EQ(parse_criu_version("4.1.1"), (criu::Version{4, 1, 1}));
  EXPECT_EQ(parse_criu_version("4.2"), (criu::Version{4, 2, 0}));
  EXPECT_FALSE(parse_criu_version("four"));
  EXPECT_FALSE(parse_criu_version(""));
}
