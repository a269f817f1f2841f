// gpucr::inspect (src/core/inspect.cpp): `gpucr inspect DIR [--json]` over a whole image
// directory (any CRIU image directory, gpucr's or not): inventory.img and what its plugins field
// means on this host (plan_plugins), gpucr-manifest, pstree.img, stats-dump, stats-restore, then
// the text and JSON reports.
// Input: up to five parts separated by kPartSeparator, the files in the order above; a missing
// part is a missing file. A manifest part that starts with the magic gets its length and CRC-32
// fixed (core_decode_manifest fuzzes those checks).
#include "core/inspect.hpp"
#include "core/manifest.hpp"
#include "criu/plugins.hpp"
#include "fuzz_support.hpp"

#include <zlib.h>

using namespace gpucr;

namespace {

// Every GPU handler present except AMD's plugin, so that plans hold both answers.
class Probe : public criu::HandlerProbe {
 public:
  criu::Availability probe(std::string_view plugin, const fs::path&) const override {
    if (plugin == criu::kAmdgpuPlugin) return {false, "amdgpu_plugin.so is not in the plugin directory", "install it"};
    return {true, "present", ""};
  }
};

void fix_manifest(std::string& m) {
  if (m.size() < 20 || m.compare(0, 8, "GPUCRMAN") != 0) return;
  auto put = [&](size_t at, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) m[at + static_cast<size_t>(i)] = static_cast<char>((v >> (8 * i)) & 0xff);
  };
  size_t n = m.size() - 20;
  put(12, static_cast<std::uint32_t>(n));
  put(16, static_cast<std::uint32_t>(::crc32(0L, reinterpret_cast<const Bytef*>(m.data() + 20), static_cast<uInt>(n))));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, size_t size) {
  static const fs::path dir = fuzz::private_dir() / "image";
  static const char* const kFiles[] = {"inventory.img", "pstree.img", "stats-dump", "stats-restore", kManifestFile};
  auto parts = fuzz::split_at(fuzz::as_text(data, size), fuzz::kPartSeparator);
  for (size_t i = 0; i < 5; ++i) {
    if (i < parts.size()) {
      if (i == 4) fix_manifest(parts[i]);
      fuzz::put(dir / kFiles[i], parts[i]);
    } else {
      std::error_code ec;
      fs::remove(dir / kFiles[i], ec);
    }
  }
  Probe probe;
  auto r = inspect(dir, probe, "/nonexistent-criu-plugins");
  if (!r) {
    FUZZ_CHECK(r.error().exit == Exit::bad_input);
    return 0;
  }
  FUZZ_CHECK(!r->pstree.empty());
  (void)to_text(*r);
  (void)to_json(*r).dump(2);  // gpucr writes no string that dump() refuses
  return 0;
}
