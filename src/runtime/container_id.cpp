#include "runtime/container_id.hpp"

#include <algorithm>

namespace gpucr::runtime {

static bool id_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '+' || c == ',' || c == '.' || c == '-';
}

bool valid_container_id(std::string_view id) {
  if (id.empty() || id.size() > kMaxContainerIdLength || id == "." || id == ".." || id.front() == '-') {
    return false;
  }
  return std::all_of(id.begin(), id.end(), id_char);
}

// The id as it may be shown in a message: printable ASCII only, shortened.
static std::string printable(std::string_view id) {
  std::string out;
  for (char c : id.substr(0, 80)) out += (c >= 0x20 && c < 0x7f) ? c : '?';
  if (id.size() > 80) out += "...";
  return out;
}

Status check_container_id(std::string_view id) {
  if (valid_container_id(id)) return {};
  return fail(Error("invalid container id '" + printable(id) + "'", Exit::bad_input)
                  .with_hint("a container id is 1-250 characters of letters, digits and _+,.- , does not start "
                             "with '-' and is not '.' or '..'"));
}

}  // namespace gpucr::runtime
