#include "cli/paths.hpp"

namespace gpucr::cli {

Status absolute_path(std::optional<std::filesystem::path>& p, const char* option) {
  if (!p) return {};
  if (p->empty()) return fail(Error(std::string(option) + " must not be empty", Exit::usage));
  std::error_code ec;
  auto abs = std::filesystem::absolute(*p, ec);
  if (ec) return fail(sys_error(std::string("cannot make ") + option + " " + p->string() + " absolute", ec.value()));
  p = abs.lexically_normal();
  return {};
}

Status absolute_paths(std::filesystem::path& image, std::optional<std::filesystem::path>& work) {
  std::optional<std::filesystem::path> img = image;
  GPUCR_TRY(absolute_path(img, "--image-dir"));
  image = *img;
  return absolute_path(work, "--work-dir");
}

}  // namespace gpucr::cli
