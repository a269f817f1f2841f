// core/requirements: what a destination needs, recorded in the manifest.
#include "core/requirements.hpp"

#include "support.hpp"

#include <gtest/gtest.h>

using namespace gpucr;
using namespace gpucr::fakes;

namespace {

pb::Manifest cuda_manifest() {
  pb::Manifest m;
  m.set_criu_version("4.1.1");
  for (int i = 0; i < 2; ++i) {
    auto* g = m.add_host_gpus();
    g->set_uuid("GPU-fa4e0000-0000-4000-8000-00000000000" + std::to_string(i));
    g->set_name("NVIDIA H100 80GB HBM3");
    g->set_memory_bytes(85520809984);
  }
  auto* a = m.add_cuda_processes();
  a->add_gpu_uuids(m.host_gpus(0).uuid());
  a->set_device_memory_bytes(1000);
  auto* b = m.add_cuda_processes();
  b->add_gpu_uuids(m.host_gpus(0).uuid());
  b->set_device_memory_bytes(500);
  return m;
}

}  // namespace

TEST(Requirements, RecordsGpusPageImagesCriuAndThePluginsField) {
  TempDir d;
  put_file(d / "pages-1.img", std::string(8192, 'x'));
  put_file(d / "pages-2.img", std::string(4096, 'x'));
  put_file(d / "pagemap-1.img", std::string(100, 'x'));
  put_file(d / "inventory.img", inventory_cuda_plugin());
  auto m = cuda_manifest();
  record_requirements(m, d.path());
  const auto& r = m.requirements();
  EXPECT_EQ(r.host_memory_bytes(), 12288u);
  EXPECT_EQ(r.device_memory_bytes(), 1500u);
  EXPECT_EQ(r.cuda_processes(), 2);
  EXPECT_EQ(r.criu_version(), "4.1.1");
  EXPECT_EQ(r.plugins_field(), "listed");
  ASSERT_EQ(r.plugins_size(), 1);
  EXPECT_EQ(r.plugins(0), "cuda_plugin");
  ASSERT_EQ(r.gpus_size(), 1) << "one GPU used by both processes";
  EXPECT_EQ(r.gpus(0).model(), "NVIDIA H100 80GB HBM3");
  EXPECT_EQ(r.gpus(0).used_bytes(), 1500u);
  EXPECT_EQ(r.gpus(0).memory_bytes(), 85520809984u);
}

TEST(Requirements, AnOlderManifestGetsThemDerived) {
  auto m = cuda_manifest();
  auto r = requirements_of(m);
  EXPECT_EQ(r.gpus_size(), 1);
  EXPECT_EQ(r.host_memory_bytes(), 0u) << "unknown";
  TempDir d;
  record_requirements(m, d.path());  // no images: nothing read, nothing fails
  EXPECT_EQ(m.requirements().plugins_field(), "");
}
