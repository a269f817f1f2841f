#include "core/gpu_allocation.hpp"

#include "util/file.hpp"
#include "util/strings.hpp"

#include <algorithm>
#include <cctype>

namespace gpucr {

namespace {

constexpr unsigned kNvidiaMajor = 195;

bool digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// "GPU-8a2c..." (a UUID or a unique prefix of one) or an index, as NVIDIA's tools accept them.
Result<const cuda::GpuInfo*> lookup(const std::vector<cuda::GpuInfo>& local, const std::string& name) {
  if (digits(name)) {
    for (const auto& g : local) {
      if (std::to_string(g.index) == name) return &g;
    }
    return nullptr;
  }
  const cuda::GpuInfo* found = nullptr;
  for (const auto& g : local) {
    std::string u = g.uuid.str();
    bool match = u.size() >= name.size() &&
                 std::equal(name.begin(), name.end(), u.begin(), [](char a, char b) { return std::tolower(a) == std::tolower(b); });
    if (match && found) return fail(Error("'" + name + "' names more than one GPU of this host", Exit::bad_input));
    if (match) found = &g;
  }
  return found;
}

}  // namespace

std::optional<GpuAllocation> allocation_from_bundle(const runtime::BundleGpus& b) {
  GpuAllocation a;
  for (const auto& d : b.devices) {
    if (d.kind == "gpu" && d.type == 'c' && d.major == kNvidiaMajor && d.path.rfind("/dev/nvidia", 0) == 0) {
      a.minors.push_back(d.minor);
    }
  }
  if (!a.minors.empty()) {
    a.source = "config.json devices";
    return a;
  }
  bool all = false;
  for (const auto& cdi : b.cdi_devices) {
    auto eq = cdi.find('=');
    if (eq == std::string::npos || cdi.substr(0, eq) != "nvidia.com/gpu") continue;
    std::string name = cdi.substr(eq + 1);
    if (name == "all") all = true;
    else a.names.push_back(name);
  }
  if (!a.names.empty() || all) {
    if (all) return std::nullopt;
    a.source = "config.json CDI devices";
    return a;
  }
  std::string nv(trim(b.nvidia_visible_devices));
  if (nv.empty() || nv == "all") return std::nullopt;
  a.source = "config.json NVIDIA_VISIBLE_DEVICES=" + nv;
  if (nv == "none" || nv == "void") {
    a.none = true;
    return a;
  }
  for (const auto& n : split(nv, ',')) {
    std::string name(trim(n));
    if (!name.empty()) a.names.push_back(name);
  }
  return a;
}

Result<std::optional<GpuAllocation>> read_allocation(const std::filesystem::path& bundle) {
  std::error_code ec;
  if (!std::filesystem::exists(bundle / "config.json", ec)) return std::optional<GpuAllocation>();
  auto gpus = GPUCR_TRY(runtime::read_bundle_gpus(bundle));
  return allocation_from_bundle(gpus);
}

Result<std::vector<cuda::Uuid>> resolve_allocation(const GpuAllocation& a, const std::vector<cuda::GpuInfo>& local) {
  auto missing = [&](const std::string& what) {
    std::vector<std::string> here;
    for (const auto& g : local) here.push_back(std::to_string(g.index) + ": " + g.uuid.str() + " (" + g.name + ")");
    Error e("the restored container's " + a.source + " names " + what + ", which is not a GPU of this host",
            Exit::missing_dependency);
    for (const auto& h : here) e.details.push_back("this host has GPU " + h);
    return fail(std::move(e));
  };
  if (a.none) {
    return fail(Error("the restored container's " + a.source + " gives it no GPU, but its checkpoint holds CUDA state",
                      Exit::missing_dependency)
                    .with_hint("allocate it the GPUs it needs (engine or device plugin), or restore it elsewhere"));
  }
  std::vector<cuda::Uuid> out;
  auto add = [&](const cuda::GpuInfo& g) {
    if (std::find(out.begin(), out.end(), g.uuid) == out.end()) out.push_back(g.uuid);
  };
  for (unsigned minor : a.minors) {
    auto it = std::find_if(local.begin(), local.end(), [&](const cuda::GpuInfo& g) { return g.minor == static_cast<int>(minor); });
    if (it == local.end()) return missing("/dev/nvidia" + std::to_string(minor));
    add(*it);
  }
  for (const auto& name : a.names) {
    const cuda::GpuInfo* g = GPUCR_TRY(lookup(local, name));
    if (!g) return missing("GPU '" + name + "'");
    add(*g);
  }
  return out;
}

}  // namespace gpucr
