// The amdgpu plugin's images (buffer objects) and the bounce buffer decision.
#include "gpu/amd/buffer.hpp"
#include "gpu/amd/images.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

using namespace gpucr;
using namespace gpucr::amd;

namespace {

constexpr std::uint64_t GiB = 1ull << 30, MiB = 1ull << 20;

criu::CriuKfd kfd_with(std::uint32_t pid, std::vector<std::tuple<std::uint32_t, std::uint64_t, std::uint32_t>> bos) {
  criu::CriuKfd k;
  k.set_pid(pid);
  for (auto [gpu, size, flags] : bos) {
    auto* b = k.add_bo_entries();
    b->set_gpu_id(gpu);
    b->set_size(size);
    b->set_alloc_flags(flags);
  }
  return k;
}

}  // namespace

TEST(AmdImages, ReadsEveryKfdImageAndSumsVramAndGttBuffersPerGpu) {
  fs::path dir = fs::temp_directory_path() / ("gpucr-kfdimg-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  ASSERT_TRUE(write_file_atomic(dir / "amdgpu-kfd-7.img",
                                serialize_kfd_image(kfd_with(42, {{0xa99d, 2 * GiB, kAllocVram},
                                                                  {0xa99d, 1 * GiB, kAllocGtt},
                                                                  {0xa99d, 8 * GiB, 1u << 2},  // userptr: not copied
                                                                  {0xee5c, 3 * GiB, kAllocVram}}))));
  ASSERT_TRUE(write_file_atomic(dir / "amdgpu-kfd-3.img", serialize_kfd_image(kfd_with(41, {}))));
  ASSERT_TRUE(write_file_atomic(dir / "amdgpu-pages-7-a99d.img", "raw"));
  auto images = read_kfd_images(dir);
  fs::remove_all(dir);
  ASSERT_TRUE(images) << images.error().what;
  ASSERT_EQ(images->size(), 2u);
  EXPECT_EQ((*images)[0].id, 3u);
  auto stats = buffer_stats(*images);
  ASSERT_EQ(stats.size(), 2u);
  EXPECT_EQ(stats[0].pid, 42u);
  EXPECT_EQ(stats[0].gpu_id, 0xa99du);
  EXPECT_EQ(stats[0].count, 2u);
  EXPECT_EQ(stats[0].total_bytes, 3 * GiB);
  EXPECT_EQ(stats[0].largest_bytes, 2 * GiB);
  EXPECT_EQ(stats[1].largest_bytes, 3 * GiB);
}

TEST(AmdImages, TruncatedImageIsBadInput) {
  auto bytes = serialize_kfd_image(kfd_with(1, {{1, GiB, kAllocVram}}));
  auto r = parse_kfd_image(bytes.substr(0, bytes.size() - 1), "amdgpu-kfd-1.img");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().exit, Exit::bad_input);
  EXPECT_NE(r.error().what.find("amdgpu-kfd-1.img"), std::string::npos);
}

TEST(AmdBuffers, UserSizeWins) {
  auto p = plan_buffers({{1, 1, 1, 1, 8 * GiB, 8 * GiB}}, 256 * MiB, "1G", 1 * GiB);
  EXPECT_EQ(p.max_buffer, 256 * MiB);
}

TEST(AmdBuffers, EnvironmentValueIsLeftToCriu) {
  auto p = plan_buffers({{1, 1, 1, 1, 8 * GiB, 8 * GiB}}, std::nullopt, "1G", 1 * GiB);
  EXPECT_FALSE(p.max_buffer);
  EXPECT_NE(p.why.find("KFD_MAX_BUFFER_SIZE=1G"), std::string::npos);
}

TEST(AmdBuffers, LargestBuffersThatFitKeepThePluginDefault) {
  auto p = plan_buffers({{1, 1, 1, 1, 4 * GiB, 2 * GiB}, {1, 1, 2, 1, 4 * GiB, 2 * GiB}}, std::nullopt, nullptr, 16 * GiB);
  EXPECT_FALSE(p.max_buffer);
  EXPECT_EQ(p.needed, 4 * GiB);
}

TEST(AmdBuffers, LargestBuffersThatDoNotFitAreCapped) {
  // 2 buffers of 12 GiB at once, 16 GiB available: half (8 GiB) shared by 2 -> 4 GiB each.
  auto p = plan_buffers({{1, 1, 1, 1, 12 * GiB, 12 * GiB}, {2, 2, 1, 1, 12 * GiB, 12 * GiB}}, std::nullopt, nullptr,
                        16 * GiB);
  ASSERT_TRUE(p.max_buffer);
  EXPECT_EQ(*p.max_buffer, 4 * GiB);
  EXPECT_EQ(p.needed, 24 * GiB);
  // Rounded down to MiB, never below 1 MiB.
  auto tiny = plan_buffers({{1, 1, 1, 1, GiB, GiB}}, std::nullopt, nullptr, 3 * MiB + 5);
  EXPECT_EQ(*tiny.max_buffer, 1 * MiB);
}

TEST(AmdBuffers, MemAvailableIsReadFromMeminfo) {
  EXPECT_EQ(mem_available("MemTotal:  100 kB\nMemAvailable:    2048 kB\n"), 2048u * 1024);
  EXPECT_FALSE(mem_available("MemTotal: 1 kB\n"));
}
