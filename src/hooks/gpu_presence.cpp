#include "hooks/gpu_presence.hpp"

#include "util/file.hpp"
#include "util/strings.hpp"

#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

namespace gpucr::hooks {

Result<HostGpu> parse_nvidia_information(std::string_view text) {
  HostGpu g;
  for (const auto& line : split(text, '\n')) {
    size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string_view key = trim(std::string_view(line).substr(0, colon));
    std::string value(trim(std::string_view(line).substr(colon + 1)));
    if (key == "Model") g.model = value;
    if (key == "GPU UUID") g.uuid = value;
    if (key == "Device Minor") {
      if (auto n = parse_int(value, "device minor")) g.minor = static_cast<int>(*n);
    }
  }
  if (g.uuid.empty()) return fail(Error("no GPU UUID in an NVIDIA information file", Exit::bad_input));
  return g;
}

Result<std::vector<HostGpu>> SysGpuPresence::gpus() {
  std::vector<HostGpu> out;
  auto dir = proc_ / "driver/nvidia/gpus";
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) return out;
  for (const auto& name : GPUCR_TRY(list_dir(dir))) {
    auto text = read_file(dir / name / "information");
    if (!text) continue;
    auto g = parse_nvidia_information(*text);
    if (!g) return fail(std::move(g).error().context((dir / name / "information").string()));
    out.push_back(*g);
  }
  return out;
}

static bool is_node(const std::filesystem::path& p, char type, unsigned major, unsigned minor) {
  struct stat st {};
  if (::lstat(p.c_str(), &st) != 0) return false;
  bool kind = type == 'b' ? S_ISBLK(st.st_mode) : S_ISCHR(st.st_mode);
  return kind && ::major(st.st_rdev) == major && ::minor(st.st_rdev) == minor;
}

bool SysGpuPresence::device_exists(char type, unsigned major, unsigned minor) {
  auto p = sys_ / "dev" / (type == 'b' ? "block" : "char") / (std::to_string(major) + ":" + std::to_string(minor));
  if (::access(p.c_str(), F_OK) == 0) return true;
  std::error_code ec;
  for (std::filesystem::directory_iterator it(dev_, ec), end; !ec && it != end; it.increment(ec)) {
    if (is_node(it->path(), type, major, minor)) return true;
    if (!it->is_directory(ec) || it->is_symlink(ec)) continue;
    std::error_code ec2;
    for (std::filesystem::directory_iterator in(it->path(), ec2), e2; !ec2 && in != e2; in.increment(ec2)) {
      if (is_node(in->path(), type, major, minor)) return true;
    }
  }
  return false;
}

}  // namespace gpucr::hooks
