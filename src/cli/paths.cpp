#include "cli/paths.hpp"

#include <cmath>
#include <cstdlib>

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

CLI::Validator seconds_between(double lo, double hi) {
  return CLI::Validator(
      [lo, hi](std::string& text) -> std::string {
        char* end = nullptr;
        double v = std::strtod(text.c_str(), &end);
        if (text.empty() || *end != '\0' || !std::isfinite(v)) return "not a finite number of seconds: " + text;
        if (v < lo || v > hi) return "seconds out of range [" + CLI::detail::to_string(lo) + ", " + CLI::detail::to_string(hi) + "]: " + text;
        return std::string();
      },
      "SECONDS in [" + CLI::detail::to_string(lo) + ", " + CLI::detail::to_string(hi) + "]");
}

Status absolute_paths(std::filesystem::path& image, std::optional<std::filesystem::path>& work,
                      bool image_optional) {
  if (image.empty() && image_optional) return absolute_path(work, "--work-dir");
  std::optional<std::filesystem::path> img = image;
  GPUCR_TRY(absolute_path(img, "--image-dir"));
  image = *img;
  return absolute_path(work, "--work-dir");
}

}  // namespace gpucr::cli
