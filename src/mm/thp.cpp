#include "mm/thp.hpp"

#include "util/fd.hpp"
#include "util/file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <string>

namespace gpucr::mm {

const char* to_string(ThpMode m) {
  switch (m) {
    case ThpMode::always: return "always";
    case ThpMode::madvise: return "madvise";
    case ThpMode::never: return "never";
  }
  return "?";
}

std::optional<ThpMode> parse_thp_word(std::string_view word) {
  for (ThpMode m : {ThpMode::always, ThpMode::madvise, ThpMode::never}) {
    if (word == to_string(m)) return m;
  }
  return std::nullopt;
}

std::optional<ThpMode> parse_thp_enabled(std::string_view text) {
  auto open = text.find('[');
  if (open == std::string_view::npos) return std::nullopt;
  auto close = text.find(']', open);
  if (close == std::string_view::npos || text.find('[', open + 1) < close) return std::nullopt;
  return parse_thp_word(text.substr(open + 1, close - open - 1));
}

Result<ThpMode> SysThp::mode() const {
  auto text = GPUCR_TRY(read_file(path_));
  auto m = parse_thp_enabled(text);
  if (!m) return fail(Error("cannot read the transparent huge page mode from " + path_.string(), Exit::bad_input));
  return *m;
}

Status SysThp::set_mode(ThpMode m) {
  UniqueFd fd(::open(path_.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC));
  if (!fd) return fail(sys_error("cannot open " + path_.string() + " for writing", errno));
  std::string word = to_string(m);
  if (::write(fd.get(), word.data(), word.size()) != static_cast<ssize_t>(word.size())) {
    return fail(sys_error("cannot write '" + word + "' to " + path_.string(), errno));
  }
  return {};
}

}  // namespace gpucr::mm
