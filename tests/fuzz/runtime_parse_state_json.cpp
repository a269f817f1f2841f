// runtime::parse_state_json (src/runtime/cli_runtime.cpp): the output of `<runtime> state ID`
// (runc, crun), which gpucr reads for a container's init pid, status, bundle and annotations.
// Properties: the promises of runtime.hpp (strict field types, pid 0..4194304).
#include "fuzz_support.hpp"
#include "runtime/runtime.hpp"

using namespace gpucr;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, size_t size) {
  auto s = runtime::parse_state_json(fuzz::as_text(data, size), "c1");
  if (!s) {
    FUZZ_CHECK(s.error().exit == Exit::bad_input);
    return 0;
  }
  FUZZ_CHECK(s->pid >= 0 && s->pid <= 0x400000);
  (void)(s->id == "c1");
  return 0;
}
