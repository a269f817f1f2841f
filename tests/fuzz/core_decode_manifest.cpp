// gpucr::decode_manifest (src/core/manifest.cpp): IMAGE_DIR/gpucr-manifest, the envelope
// (magic, version, length, CRC-32) and its protobuf payload, then what gpucr does with a manifest
// it read: `gpucr inspect` (text, --json), the restore's CUDA device plan (plan_manifest_gpus),
// the container GPU check of the prestart hook and restore (check_gpus_present) and the AMD
// topology it records.
//
// Each input is decoded twice: as a whole file (the envelope's checks), and as a payload put in a
// valid envelope (a fuzzer can't forge CRC-32s, so this is how the payload parser gets fuzzed).
// Property: a decoded manifest encodes and decodes to an equal message.
#include "core/container_gpus.hpp"
#include "core/cuda_restore.hpp"
#include "core/inspect.hpp"
#include "core/manifest.hpp"
#include "fuzz_support.hpp"
#include "gpu/amd/topology_pb.hpp"

#include <google/protobuf/util/message_differencer.h>

#include <zlib.h>

using namespace gpucr;

namespace {

std::string envelope(std::string_view payload) {
  auto le32 = [](std::string& out, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  };
  std::string out = "GPUCRMAN";
  le32(out, kManifestFormat);
  le32(out, static_cast<std::uint32_t>(payload.size()));
  le32(out, static_cast<std::uint32_t>(
                ::crc32(0L, reinterpret_cast<const Bytef*>(payload.data()), static_cast<uInt>(payload.size()))));
  return out + std::string(payload);
}

// The host the restore side runs on: two GPUs of one chip, one device node present.
class Presence : public hooks::GpuPresence {
 public:
  Result<std::vector<hooks::HostGpu>> gpus() override {
    return std::vector<hooks::HostGpu>{{"GPU-00000000-0000-0000-0000-000000000001", "NVIDIA H100", 0},
                                       {"GPU-00000000-0000-0000-0000-000000000002", "NVIDIA H100", 1}};
  }
  bool device_exists(char type, unsigned major, unsigned minor) override {
    return type == 'c' && major == 195 && minor == 0;
  }
};

std::vector<cuda::GpuInfo> local_gpus() {
  std::vector<cuda::GpuInfo> out(2);
  for (int i = 0; i < 2; ++i) {
    out[static_cast<size_t>(i)].index = i;
    out[static_cast<size_t>(i)].uuid.bytes[15] = static_cast<std::uint8_t>(i + 1);
    out[static_cast<size_t>(i)].name = "NVIDIA H100";
    out[static_cast<size_t>(i)].minor = i;
  }
  return out;
}

void use(const pb::Manifest& m) {
  std::string bytes = encode_manifest(m);
  auto again = decode_manifest(bytes, "gpucr-manifest (re-encoded)");
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(google::protobuf::util::MessageDifferencer::Equals(m, *again));

  InspectReport r;
  r.pstree.emplace_back().set_pid(1);
  r.manifest = m;
  (void)to_text(r);
  (void)to_json(r).dump(2);  // gpucr writes no string that dump() refuses

  static const std::vector<cuda::GpuInfo> local = local_gpus();
  if (auto plan = plan_manifest_gpus(m, local, std::nullopt)) (void)plan->describe();
  if (m.has_container()) {
    Presence presence;
    (void)check_gpus_present(m.container(), presence);
  }
  if (m.has_amd()) {
    amd::Topology t = amd::from_pb(m.amd().topology());
    (void)amd::xgmi_hives(t);
    for (const auto& n : t.nodes) (void)amd::valid_link_count(t, n);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, size_t size) {
  std::string_view bytes = fuzz::as_text(data, size);
  for (const std::string& file : {std::string(bytes), envelope(bytes)}) {
    auto m = decode_manifest(file, "gpucr-manifest");
    if (!m) {
      FUZZ_CHECK(m.error().exit == Exit::bad_input);
      continue;
    }
    use(*m);
  }
  return 0;
}
