#include "gpu/cuda/inventory.hpp"

#include "common/self_exec.hpp"
#include "util/log.hpp"
#include "util/strings.hpp"
#include "util/subprocess.hpp"

#include <algorithm>

namespace gpucr::cuda {

Result<std::vector<GpuInfo>> NvmlInventory::gpus() {
  Command cmd{.argv = {self_, self::kCudaCall, "gpus"}};
  auto out = run_capture(cmd, std::chrono::seconds(30));
  if (!out) return fail(std::move(out).error().context("querying NVIDIA GPUs through NVML"));
  auto lines = split(trim(out->out), '\n');
  auto j = nlohmann::json::parse(lines.empty() ? std::string() : lines.back(), nullptr, false);
  std::vector<GpuInfo> gpus;
  if (!j.is_discarded() && j.value("nvml", false)) {
    for (const auto& g : j["gpus"]) gpus.push_back(GPUCR_TRY(gpu_from_json(g)));
  } else {
    log::debug("NVML unavailable, reading " + (proc_ / "driver/nvidia/gpus").string());
    gpus = GPUCR_TRY(gpus_from_procfs(proc_));
  }
  return gpus;
}

Result<std::vector<GpuInfo>> gpus_from_procfs(const fs::path& proc) {
  std::vector<GpuInfo> gpus;
  fs::path dir = proc / "driver/nvidia/gpus";
  auto entries = list_dir(dir);
  if (!entries) return gpus;  // no NVIDIA driver
  for (const auto& bus : *entries) {
    auto text = read_file(dir / bus / "information");
    if (!text) continue;
    GpuInfo g;
    for (const auto& line : split(*text, '\n')) {
      auto colon = line.find(':');
      if (colon == std::string::npos) continue;
      std::string key(trim(line.substr(0, colon)));
      std::string value(trim(line.substr(colon + 1)));
      if (key == "Model") g.name = value;
      if (key == "GPU UUID") {
        if (auto u = parse_uuid(value)) g.uuid = *u;
      }
      if (key == "Device Minor") g.minor = std::atoi(value.c_str());
    }
    gpus.push_back(std::move(g));
  }
  std::sort(gpus.begin(), gpus.end(), [](const GpuInfo& a, const GpuInfo& b) { return a.minor < b.minor; });
  // "NVRM version: NVIDIA UNIX x86_64 Kernel Module  580.159.04  Thu ..."
  std::string driver;
  if (auto v = read_file(proc / "driver/nvidia/version")) {
    auto words = split_ws(split(*v, '\n').front());
    for (size_t i = 0; i + 1 < words.size(); ++i) {
      if (words[i] == "Module") driver = words[i + 1];
    }
  }
  for (size_t i = 0; i < gpus.size(); ++i) {
    gpus[i].index = static_cast<int>(i);
    gpus[i].driver_version = driver;
  }
  return gpus;
}

}  // namespace gpucr::cuda
