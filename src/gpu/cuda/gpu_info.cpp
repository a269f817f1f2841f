#include "gpu/cuda/gpu_info.hpp"

#include <dlfcn.h>

namespace gpucr::cuda {

nlohmann::json to_json(const GpuInfo& g) {
  auto procs = nlohmann::json::array();
  for (const auto& p : g.processes) procs.push_back({{"pid", p.pid}, {"used_bytes", p.used_bytes}});
  return {{"index", g.index}, {"uuid", g.uuid.str()}, {"name", g.name}, {"memory_bytes", g.memory_bytes},
          {"minor", g.minor}, {"mig", g.mig}, {"driver_version", g.driver_version}, {"processes", procs}};
}

Result<GpuInfo> gpu_from_json(const nlohmann::json& j) {
  if (!j.is_object()) return fail(Error("malformed GPU record", Exit::internal));
  GpuInfo g;
  g.index = j.value("index", 0);
  g.uuid = GPUCR_TRY(parse_uuid(j.value("uuid", "")));
  g.name = j.value("name", "");
  g.memory_bytes = j.value("memory_bytes", std::uint64_t{0});
  g.minor = j.value("minor", -1);
  g.mig = j.value("mig", false);
  g.driver_version = j.value("driver_version", "");
  for (const auto& p : j.value("processes", nlohmann::json::array())) {
    g.processes.push_back({p.value("pid", 0), p.value("used_bytes", std::uint64_t{0})});
  }
  return g;
}

namespace {

// NVML's C ABI, as far as gpucr uses it (nvml.h).
using Device = void*;
struct Memory {
  unsigned long long total, free, used;
};
struct ProcessInfo {  // nvmlProcessInfo_t as filled by nvmlDeviceGetComputeRunningProcesses_v3
  unsigned pid;
  unsigned long long used_gpu_memory;
  unsigned gpu_instance_id;
  unsigned compute_instance_id;
};
constexpr int kSuccess = 0;
constexpr int kInsufficientSize = 7;

struct Nvml {
  int (*init)();
  int (*shutdown)();
  int (*count)(unsigned*);
  int (*handle)(unsigned, Device*);
  int (*uuid)(Device, char*, unsigned);
  int (*name)(Device, char*, unsigned);
  int (*memory)(Device, Memory*);
  int (*minor)(Device, unsigned*);
  int (*mig)(Device, unsigned*, unsigned*);
  int (*procs)(Device, unsigned*, ProcessInfo*);
  int (*driver)(char*, unsigned);
};

template <class F>
bool bind(void* h, const char* name, F& out) {
  out = reinterpret_cast<F>(::dlsym(h, name));
  return out != nullptr;
}

std::vector<GpuProcess> processes_of(const Nvml& n, Device d) {
  std::vector<ProcessInfo> buf(64);
  for (int attempt = 0; attempt < 4; ++attempt) {
    unsigned count = static_cast<unsigned>(buf.size());
    int r = n.procs(d, &count, buf.data());
    if (r == kInsufficientSize) {
      buf.resize(count + 16);
      continue;
    }
    std::vector<GpuProcess> out;
    if (r != kSuccess) return out;
    for (unsigned i = 0; i < count; ++i) {
      out.push_back({static_cast<pid_t>(buf[i].pid), buf[i].used_gpu_memory});
    }
    return out;
  }
  return {};
}

}  // namespace

Result<std::vector<GpuInfo>> query_gpus_nvml() {
  void* h = ::dlopen("libnvidia-ml.so.1", RTLD_NOW | RTLD_LOCAL);
  if (!h) return fail(Error("cannot load libnvidia-ml.so.1 (NVML)", Exit::missing_dependency));
  Nvml n{};
  bool ok = bind(h, "nvmlInit_v2", n.init) && bind(h, "nvmlShutdown", n.shutdown) &&
            bind(h, "nvmlDeviceGetCount_v2", n.count) && bind(h, "nvmlDeviceGetHandleByIndex_v2", n.handle) &&
            bind(h, "nvmlDeviceGetUUID", n.uuid) && bind(h, "nvmlDeviceGetName", n.name) &&
            bind(h, "nvmlDeviceGetMemoryInfo", n.memory) && bind(h, "nvmlDeviceGetMinorNumber", n.minor) &&
            bind(h, "nvmlDeviceGetComputeRunningProcesses_v3", n.procs);
  bind(h, "nvmlDeviceGetMigMode", n.mig);  // optional
  bind(h, "nvmlSystemGetDriverVersion", n.driver);  // optional
  if (!ok) return fail(Error("libnvidia-ml.so.1 lacks functions gpucr needs", Exit::missing_dependency));
  if (int r = n.init(); r != kSuccess) {
    return fail(Error("nvmlInit failed with NVML error " + std::to_string(r), Exit::missing_dependency));
  }
  unsigned count = 0;
  n.count(&count);
  char driver[96] = {};
  if (n.driver && n.driver(driver, sizeof driver) != kSuccess) driver[0] = '\0';
  std::vector<GpuInfo> gpus;
  for (unsigned i = 0; i < count; ++i) {
    Device d = nullptr;
    if (n.handle(i, &d) != kSuccess) continue;
    GpuInfo g;
    g.index = static_cast<int>(i);
    char buf[128] = {};
    if (n.uuid(d, buf, sizeof buf) == kSuccess) {
      if (auto u = parse_uuid(buf)) g.uuid = *u;
    }
    char name[128] = {};
    if (n.name(d, name, sizeof name) == kSuccess) g.name = name;
    Memory m{};
    if (n.memory(d, &m) == kSuccess) g.memory_bytes = m.total;
    unsigned minor = 0;
    if (n.minor(d, &minor) == kSuccess) g.minor = static_cast<int>(minor);
    unsigned cur = 0, pending = 0;
    if (n.mig && n.mig(d, &cur, &pending) == kSuccess) g.mig = cur == 1;
    g.processes = processes_of(n, d);
    g.driver_version = driver;
    gpus.push_back(std::move(g));
  }
  n.shutdown();
  return gpus;
}

}  // namespace gpucr::cuda
