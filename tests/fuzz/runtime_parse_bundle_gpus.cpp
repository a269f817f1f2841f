// runtime::parse_bundle_gpus (src/runtime/bundle.cpp): BUNDLE/config.json as the prestart hook
// and a container checkpoint read it for the container's GPU devices (linux.devices, bind-mounted
// device nodes, NVIDIA_VISIBLE_DEVICES). A bind mount's source is stat()ed (read only).
// Properties: every device found is a GPU device path with type 'c' or 'b'; no path twice among
// the bind-mounted ones.
#include "fuzz_support.hpp"
#include "runtime/bundle.hpp"

using namespace gpucr;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, size_t size) {
  auto gpus = runtime::parse_bundle_gpus(fuzz::as_text(data, size), "config.json");
  if (!gpus) {
    FUZZ_CHECK(gpus.error().exit == Exit::bad_input);
    return 0;
  }
  for (const auto& d : gpus->devices) {
    FUZZ_CHECK(!d.kind.empty() && d.kind == runtime::gpu_device_kind(d.path));
    FUZZ_CHECK(d.type == 'c' || d.type == 'b');
  }
  (void)gpus->any();
  return 0;
}
