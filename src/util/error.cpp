#include "util/error.hpp"

#include <cstring>

namespace gpucr {

Error sys_error(const std::string& what, int err) {
  Error e(what + ": " + std::strerror(err));
  if (err == EACCES || err == EPERM) {
    e.exit = Exit::not_permitted;
  }
  return e;
}

}  // namespace gpucr
