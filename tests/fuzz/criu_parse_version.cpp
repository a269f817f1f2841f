// criu::parse_version (src/criu/locate.cpp): the output of `criu --version`, which decides what
// gpucr asks of criu (>= 4.0; the inventory plugins field from 4.1).
#include "criu/locate.hpp"
#include "fuzz_support.hpp"

using namespace gpucr;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, size_t size) {
  auto v = criu::parse_version(fuzz::as_text(data, size));
  if (v) {
    FUZZ_CHECK(v->major > 0);
    (void)v->str();
    (void)(*v >= criu::kPluginsField);
  } else {
    FUZZ_CHECK(v.error().exit == Exit::missing_dependency);
  }
  return 0;
}
