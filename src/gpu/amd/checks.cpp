#include "gpu/amd/checks.hpp"

#include "util/strings.hpp"

#include <strings.h>

namespace gpucr::amd {

const std::vector<Switch>& switches() {
  static const std::vector<Switch> s = {
      {"fw", "KFD_FW_VER_CHECK", &Checks::fw},
      {"sdma-fw", "KFD_SDMA_FW_VER_CHECK", &Checks::sdma_fw},
      {"caches", "KFD_CACHES_COUNT_CHECK", &Checks::caches},
      {"gws", "KFD_NUM_GWS_CHECK", &Checks::gws},
      {"vram", "KFD_VRAM_SIZE_CHECK", &Checks::vram},
      {"capability", "KFD_CAPABILITY_CHECK", &Checks::capability},
      {"numa", "KFD_NUMA_CHECK", &Checks::numa},
  };
  return s;
}

Status skip_checks(std::string_view csv, Checks& checks) {
  for (const auto& raw : split(csv, ',')) {
    std::string_view name = trim(raw);
    if (name.empty()) continue;
    bool known = false;
    for (const auto& s : switches()) {
      if (name == s.name) {
        checks.*s.member = false;
        known = true;
      }
    }
    if (!known) {
      return fail(Error("unknown --amd-skip-check '" + std::string(name) + "'", Exit::usage)
                      .with_hint("use a comma-separated list of fw, sdma-fw, caches, gws, vram, numa, capability"));
    }
  }
  return {};
}

void apply_environment(const std::function<const char*(const char*)>& getenv, Checks& checks) {
  for (const auto& s : switches()) {
    const char* v = getenv(s.env);
    if (v && (std::string_view(v) == "0" || ::strcasecmp(v, "no") == 0)) checks.*s.member = false;
  }
}

std::map<std::string, std::string> plugin_env(const Checks& checks) {
  std::map<std::string, std::string> env;
  for (const auto& s : switches()) {
    if (!(checks.*s.member)) env[s.env] = "0";
  }
  return env;
}

namespace {

const char* const kEqual[] = {
    "simd_count",        "mem_banks_count",      "io_links_count",   "max_waves_per_simd",
    "lds_size_in_kb",    "wave_front_size",      "array_count",      "simd_arrays_per_engine",
    "cu_per_simd_array", "simd_per_cu",          "max_slots_scratch_cu", "vendor_id",
    "device_id",         "num_sdma_engines",     "num_sdma_xgmi_engines", "num_sdma_queues_per_engine",
    "num_cp_queues",
};

struct AtMost {
  const char* property;
  bool Checks::*member;
  const char* skip;
};
const AtMost kAtMost[] = {
    {"vram_size", &Checks::vram, "vram"},       {"num_gws", &Checks::gws, "gws"},
    {"caches_count", &Checks::caches, "caches"}, {"fw_version", &Checks::fw, "fw"},
    {"sdma_fw_version", &Checks::sdma_fw, "sdma-fw"},
};

std::uint64_t value(const Node& n, const std::string& property) {
  if (property == "vram_size") return n.vram_size();
  if (property == "vram_public") return n.vram_public() ? 1 : 0;
  return n.prop(property);
}

}  // namespace

std::vector<PropertyMismatch> compare_gpus(const Node& src, const Node& local, const Checks& checks) {
  std::vector<PropertyMismatch> out;
  auto equal = [&](const std::string& p, const std::string& rule) {
    if (value(src, p) != value(local, p)) out.push_back({p, value(src, p), value(local, p), rule});
  };
  for (const char* p : kEqual) equal(p, "==");
  equal("vram_public", "==");
  if (checks.capability) equal("capability", "== (skip: capability)");
  for (const auto& r : kAtMost) {
    if (!(checks.*r.member)) continue;
    if (value(src, r.property) > value(local, r.property)) {
      out.push_back({r.property, value(src, r.property), value(local, r.property),
                     std::string("<= (skip: ") + r.skip + ")"});
    }
  }
  return out;
}

}  // namespace gpucr::amd
