// hooks::parse_oci_state (src/hooks/oci_state.cpp): the OCI state JSON a runtime writes on the
// stdin of `gpucr hook prestart|poststop`, then the checks core/container_hooks.cpp makes on it
// (the id must be a container id gpucr accepts before it names anything in the run directory).
// Properties: the promises of oci_state.hpp (size limit, absolute bundle, pid range, status).
#include "fuzz_support.hpp"
#include "hooks/oci_state.hpp"
#include "runtime/container_id.hpp"

using namespace gpucr;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, size_t size) {
  auto s = hooks::parse_oci_state(fuzz::as_text(data, size));
  if (!s) {
    FUZZ_CHECK(s.error().exit == Exit::bad_input);
    return 0;
  }
  FUZZ_CHECK(size <= hooks::kMaxStateBytes);
  FUZZ_CHECK(!s->oci_version.empty() && s->oci_version.size() <= 64);
  FUZZ_CHECK(s->bundle.is_absolute());
  FUZZ_CHECK(s->pid >= 0 && s->pid <= 4194304);
  FUZZ_CHECK(s->status == "creating" || s->status == "created" || s->status == "running" ||
             s->status == "paused" || s->status == "stopped");
  if (runtime::check_container_id(s->id)) {
    FUZZ_CHECK(runtime::valid_container_id(s->id));
    (void)(s->bundle / "config.json");
  }
  return 0;
}
