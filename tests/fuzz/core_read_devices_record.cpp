// gpucr::read_devices_record (src/core/container_gpus.cpp): RUN_DIR/containers/ID/devices.json,
// written by the prestart hook at create and read at checkpoint, then its use there:
// container_gpu_devices() (the manifest's device list, NVIDIA devices matched to the host's GPUs)
// and, at restore, check_gpus_present() over that list.
// Property: a record that reads gives devices with a path and type 'c' or 'b'.
#include "core/container_gpus.hpp"
#include "fuzz_support.hpp"

#include <unistd.h>

using namespace gpucr;

namespace {

class Presence : public hooks::GpuPresence {
 public:
  Result<std::vector<hooks::HostGpu>> gpus() override {
    return std::vector<hooks::HostGpu>{{"GPU-00000000-0000-0000-0000-000000000001", "NVIDIA H100", 0},
                                       {"GPU-00000000-0000-0000-0000-000000000002", "NVIDIA H100", 1}};
  }
  bool device_exists(char type, unsigned major, unsigned minor) override {
    return type == 'c' && major == 195 && minor < 2;
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, size_t size) {
  static const RunDir run(fuzz::private_dir() / "run", ::geteuid());
  fuzz::put(run.containers() / "c1" / kDevicesRecord, fuzz::as_text(data, size));

  auto rec = read_devices_record(run, "c1");
  if (!rec) {
    FUZZ_CHECK(rec.error().exit == Exit::bad_input);
    return 0;
  }
  FUZZ_CHECK(rec->has_value());
  for (const auto& d : (*rec)->devices) FUZZ_CHECK(!d.path.empty() && (d.type == 'c' || d.type == 'b'));

  Presence presence;
  auto devices = container_gpu_devices(run, "c1", "/nonexistent-bundle", presence);
  FUZZ_CHECK(devices.ok());
  pb::Container c;
  c.set_id("c1");
  for (auto& d : *devices) *c.add_gpu_devices() = std::move(d);
  (void)check_gpus_present(c, presence);
  return 0;
}
