// hooks::parse_nvidia_information (src/hooks/gpu_presence.cpp): the driver's
// /proc/driver/nvidia/gpus/*/information, read by the restore-time GPU check of containers.
#include "fuzz_support.hpp"
#include "hooks/gpu_presence.hpp"

using namespace gpucr;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, size_t size) {
  auto g = hooks::parse_nvidia_information(fuzz::as_text(data, size));
  if (g) FUZZ_CHECK(!g->uuid.empty());
  else FUZZ_CHECK(g.error().exit == Exit::bad_input);
  return 0;
}
