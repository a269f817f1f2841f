// amd::parse_kfd_image (src/gpu/amd/images.cpp): amdgpu-kfd-N.img, written by CRIU's amdgpu
// plugin, as a restore and `gpucr inspect` read it (read_kfd_images), then their use: the
// topology the plugin recorded (from_kfd_image) mapped onto a host (map_gpus, a fixture host) and
// the bounce-buffer plan from its buffer objects (buffer_stats, plan_buffers).
// Each input is parsed as a whole file and as a payload behind a correct 8-byte length.
#include "amd_support.hpp"
#include "gpu/amd/buffer.hpp"
#include "gpu/amd/images.hpp"
#include "gpu/amd/mapping.hpp"
#include "gpu/amd/topology_pb.hpp"

using namespace gpucr;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, size_t size) {
  static const amd::Topology host = fuzz::fixture_topology("two_gpus");
  std::string_view bytes = fuzz::as_text(data, size);
  std::string framed;
  for (int i = 0; i < 8; ++i) framed.push_back(static_cast<char>((static_cast<std::uint64_t>(size) >> (8 * i)) & 0xff));
  framed += bytes;

  for (std::string_view file : {bytes, std::string_view(framed)}) {
    auto kfd = amd::parse_kfd_image(file, "amdgpu-kfd-1.img");
    if (!kfd) {
      FUZZ_CHECK(kfd.error().exit == Exit::bad_input);
      continue;
    }
    amd::Topology t = amd::from_kfd_image(*kfd);
    (void)amd::xgmi_hives(t);
    amd::Mapping m = amd::map_gpus(t, host, amd::Checks{});
    (void)amd::mismatch_table(m.mismatches);

    std::vector<amd::KfdImage> images(1);
    images[0].id = 1;
    images[0].kfd = std::move(*kfd);
    auto stats = amd::buffer_stats(images);
    (void)amd::plan_buffers(stats, std::nullopt, nullptr, std::uint64_t{8} << 30);
  }
  return 0;
}
