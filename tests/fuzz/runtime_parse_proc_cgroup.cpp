// runtime::parse_proc_cgroup (src/runtime/cgroup.cpp): /proc/PID/cgroup of a container's init
// process, read at a container checkpoint for its v1 freezer and v2 cgroup paths (the manifest's
// container record).
#include "fuzz_support.hpp"
#include "runtime/cgroup.hpp"

using namespace gpucr;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, size_t size) {
  auto paths = runtime::parse_proc_cgroup(fuzz::as_text(data, size));
  FUZZ_CHECK(paths.freezer_v1.size() < size + 1 && paths.unified.size() < size + 1);
  return 0;
}
