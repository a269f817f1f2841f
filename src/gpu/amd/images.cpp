#include "gpu/amd/images.hpp"

#include <cstdlib>
#include <map>

namespace gpucr::amd {

static constexpr std::string_view kPrefix = "amdgpu-kfd-";
static constexpr std::string_view kSuffix = ".img";

Result<criu::CriuKfd> parse_kfd_image(std::string_view bytes, const std::string& name) {
  auto bad = [&](const std::string& why) {
    return fail(Error(name + " is not a valid amdgpu plugin image: " + why, Exit::bad_input)
                    .with_hint("the image directory is damaged; checkpoint again or use an intact copy"));
  };
  if (bytes.size() < 8) return bad("shorter than its 8-byte length");
  std::uint64_t len = 0;
  for (int i = 7; i >= 0; --i) len = len << 8 | static_cast<unsigned char>(bytes[static_cast<size_t>(i)]);
  if (len != bytes.size() - 8) {
    return bad("length says " + std::to_string(len) + " bytes, file has " + std::to_string(bytes.size() - 8));
  }
  criu::CriuKfd kfd;
  if (!kfd.ParseFromArray(bytes.data() + 8, static_cast<int>(len))) return bad("payload does not parse");
  return kfd;
}

std::string serialize_kfd_image(const criu::CriuKfd& kfd) {
  std::string payload = kfd.SerializeAsString();
  std::string out;
  std::uint64_t len = payload.size();
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((len >> (8 * i)) & 0xff));
  return out + payload;
}

Result<std::vector<KfdImage>> read_kfd_images(const fs::path& image_dir) {
  std::map<std::uint32_t, KfdImage> found;
  for (const auto& name : GPUCR_TRY(list_dir(image_dir))) {
    if (name.size() <= kPrefix.size() + kSuffix.size() || name.rfind(kPrefix, 0) != 0 ||
        name.substr(name.size() - kSuffix.size()) != kSuffix) {
      continue;
    }
    std::string digits = name.substr(kPrefix.size(), name.size() - kPrefix.size() - kSuffix.size());
    if (digits.find_first_not_of("0123456789") != std::string::npos) continue;
    KfdImage img;
    img.id = static_cast<std::uint32_t>(std::strtoul(digits.c_str(), nullptr, 10));
    auto bytes = read_untrusted(image_dir / name);
    if (!bytes) return fail(std::move(bytes).error().with_exit(Exit::bad_input));
    img.kfd = GPUCR_TRY(parse_kfd_image(*bytes, (image_dir / name).string()));
    found[img.id] = std::move(img);
  }
  std::vector<KfdImage> out;
  for (auto& [id, img] : found) out.push_back(std::move(img));
  return out;
}

std::vector<BufferStats> buffer_stats(const std::vector<KfdImage>& images) {
  std::vector<BufferStats> out;
  for (const auto& img : images) {
    std::map<std::uint32_t, BufferStats> per_gpu;
    for (const auto& bo : img.kfd.bo_entries()) {
      if (!(bo.alloc_flags() & (kAllocVram | kAllocGtt))) continue;
      auto& s = per_gpu[bo.gpu_id()];
      s.image_id = img.id;
      s.pid = img.kfd.pid();
      s.gpu_id = bo.gpu_id();
      s.count++;
      s.total_bytes += bo.size();
      s.largest_bytes = std::max(s.largest_bytes, bo.size());
    }
    for (auto& [gpu, s] : per_gpu) out.push_back(s);
  }
  return out;
}

}  // namespace gpucr::amd
