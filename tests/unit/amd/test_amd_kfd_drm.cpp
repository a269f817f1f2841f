// The KFD ioctl layer (real device node and fake) and libdrm enumeration on this machine.
#include "amd_fakes.hpp"
#include "core/amd_check.hpp"
#include "core/amd_support.hpp"
#include "gpu/amd/drm.hpp"
#include "gpu/amd/kfd.hpp"

#include <gtest/gtest.h>
#include <sys/ioctl.h>

#include <fstream>

using namespace gpucr;
using namespace gpucr::amd;

TEST(AmdKfd, CriuSupportNeedsMajorOneMinorEight) {
  EXPECT_FALSE(kfd_supports_criu({1, 7}));
  EXPECT_TRUE(kfd_supports_criu({1, 8}));
  EXPECT_TRUE(kfd_supports_criu({1, 17}));
  EXPECT_FALSE(kfd_supports_criu({2, 0}));
}

TEST(AmdKfd, GetVersionIoctlNumberMatchesTheKernelHeader) {
  // _IOR('K', 0x01, 8-byte struct): dir read (2) << 30 | size 8 << 16 | 'K' << 8 | 1.
  EXPECT_EQ(static_cast<unsigned long>(_IOR('K', 0x01, std::uint64_t)), 0x80084b01ul);
}

TEST(AmdKfd, RealDeviceAbsentIsAMissingDependency) {
  KfdDevice kfd("/nonexistent/kfd");
  EXPECT_FALSE(kfd.present());
  auto v = kfd.version();
  ASSERT_FALSE(v);
  EXPECT_EQ(v.error().exit, Exit::missing_dependency);
  EXPECT_NE(v.error().what.find("/nonexistent/kfd"), std::string::npos);
}

TEST(AmdKfd, RealIoctlOnAFileThatIsNotKfdFails) {
  fs::path f = fs::temp_directory_path() / ("gpucr-notkfd-" + std::to_string(::getpid()));
  std::ofstream(f) << "x";
  KfdDevice kfd(f);
  EXPECT_TRUE(kfd.present());
  auto v = kfd.version();
  fs::remove(f);
  ASSERT_FALSE(v);
  EXPECT_NE(v.error().what.find("AMDKFD_IOC_GET_VERSION"), std::string::npos) << v.error().what;
}

TEST(AmdKfd, CheckItemReportsVersionAndGpuCount) {
  amdtest::FakeKfd kfd;
  DiskFiles files;
  auto item = check_amd_kfd(kfd, files, amdtest::fixture("xgmi_hive"));
  EXPECT_EQ(item.verdict, Verdict::ok);
  EXPECT_EQ(item.detail, "/dev/kfd, ioctl interface 1.14; 2 GPUs in the KFD topology");
  kfd.answer = KfdVersion{1, 6};
  EXPECT_EQ(check_amd_kfd(kfd, files, amdtest::fixture("xgmi_hive")).verdict, Verdict::warn);
  kfd.exists = false;
  auto absent = check_amd_kfd(kfd, files, amdtest::fixture("xgmi_hive"));
  EXPECT_EQ(absent.verdict, Verdict::warn);
  EXPECT_EQ(absent.detail, "no /dev/kfd");
}

TEST(AmdKfd, SupportNeedsVersionCapabilityAndPlugin) {
  amdtest::FakeKfd kfd;
  amdtest::DenyingFiles files;
  fs::path plugins = fs::temp_directory_path() / ("gpucr-plugins-" + std::to_string(::getpid()));
  fs::create_directories(plugins);
  std::ofstream(plugins / "amdgpu_plugin.so") << "elf";
  files.extra["/proc/self/status"] = "Name:\tgpucr\nCapEff:\t0000000000200000\n";  // CAP_SYS_ADMIN only
  AmdHost host{.kfd = kfd, .files = files, .plugin_dirs = [&] { return std::vector<fs::path>{plugins}; }};
  std::optional<fs::path> opts;  // no --criu-plugins-dir
  auto ok = require_amd_support(&host, opts, "test");
  ASSERT_TRUE(ok) << ok.error().what;
  EXPECT_EQ(ok->plugin, plugins / "amdgpu_plugin.so");
  EXPECT_EQ(ok->kfd.str(), "1.14");

  kfd.answer = KfdVersion{1, 7};
  auto old = require_amd_support(&host, opts, "test");
  ASSERT_FALSE(old);
  EXPECT_EQ(old.error().exit, Exit::missing_dependency);
  EXPECT_NE(old.error().what.find("1.7"), std::string::npos);
  kfd.answer = KfdVersion{1, 14};

  files.extra["/proc/self/status"] = "CapEff:\t0000000000000000\n";
  auto noperm = require_amd_support(&host, opts, "test");
  ASSERT_FALSE(noperm);
  EXPECT_EQ(noperm.error().exit, Exit::not_permitted);
  files.extra["/proc/self/status"] = "CapEff:\t0000010000000000\n";  // CAP_CHECKPOINT_RESTORE only
  EXPECT_TRUE(require_amd_support(&host, opts, "test"));
  fs::remove_all(plugins);
}

TEST(AmdDrm, EnumerationOnThisMachineWithoutAmdGpusFindsNoneWithoutError) {
  // Neither this machine nor the CI VM has an AMD GPU (nor, usually, /dev/dri at all).
  if (fs::exists("/dev/kfd")) GTEST_SKIP() << "this machine has AMD GPUs";
  auto nodes = amd_render_nodes();
  ASSERT_TRUE(nodes) << nodes.error().what;
  EXPECT_TRUE(nodes->empty());
  auto item = check_amd_render_nodes(nodes);
  EXPECT_EQ(item.verdict, Verdict::ok);
  EXPECT_EQ(item.detail, "none (no AMD GPU)");
}
