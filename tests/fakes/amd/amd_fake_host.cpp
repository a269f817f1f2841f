// amd_fake_host: gpucr's real checkpoint and restore drivers (core/checkpoint.cpp,
// core/restore.cpp), real criu, real processes; only the AMD GPU is faked, at gpucr's seams:
//   - the process table reports an fd on FAKE (a plain file the workload holds) as DEVICE
//     (--alias FAKE=/dev/kfd, or =/dev/nvidia0 for a stand-in CUDA user), so detection sees a
//     KFD user although this machine has no AMD GPU;
//   - the KFD device answers AMDKFD_IOC_GET_VERSION with 1.14;
//   - the KFD topology is a fixture (--topology DIR), render nodes live under --dev-root.
// criu itself sees plain files. It exists so that the integration tests can show which CRIU
// plugins criu is given and loads for a tree gpucr classifies as AMD (test_amd_plugins.py).
//
// usage: amd_fake_host checkpoint (--pid P | --container ID) --image-dir D [common]
//        amd_fake_host restore --image-dir D (--pid-file F | --container ID --bundle B) [common]
// common: --criu PATH --criu-plugins-dir DIR --topology DIR --dev-root DIR [--alias FAKE=DEVICE]...
//         [--runtime PATH --root DIR] (containers: the OCI runtime and its state directory)
#include "amd_fakes.hpp"
#include "core/checkpoint.hpp"
#include "core/handler_probe.hpp"
#include "freezer/cgroup_fs.hpp"
#include "core/restore.hpp"
#include "criu/plugin_dir.hpp"
#include "runtime/cli_runtime.hpp"
#include "util/strings.hpp"

#include <cstdio>
#include <cstdlib>
#include <map>

#include <unistd.h>

using namespace gpucr;

namespace {

class AliasingProcs : public proc::ProcFs {
 public:
  std::map<std::string, std::string> alias;
  Result<std::vector<proc::FdEntry>> fds(pid_t pid) const override {
    auto fds = GPUCR_TRY(proc::ProcFs::fds(pid));
    for (auto& fd : fds) {
      if (auto it = alias.find(fd.target); it != alias.end()) fd.target = it->second;
    }
    return fds;
  }
};

struct Args {
  std::string verb;
  std::map<std::string, std::string> opt;
  std::map<std::string, std::string> alias;
};

Args parse(int argc, char** argv) {
  Args a;
  a.verb = argc > 1 ? argv[1] : "";
  for (int i = 2; i + 1 < argc; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
    if (k == "--alias") {
      auto eq = v.find('=');
      a.alias[v.substr(0, eq)] = v.substr(eq + 1);
    } else {
      a.opt[k] = v;
    }
  }
  return a;
}

int report(const Status& st) {
  if (st) return 0;
  std::fprintf(stderr, "amd_fake_host: %s\n", st.error().what.c_str());
  for (const auto& d : st.error().details) std::fprintf(stderr, "  %s\n", d.c_str());
  return static_cast<int>(st.error().exit);
}

}  // namespace

int main(int argc, char** argv) {
  Args a = parse(argc, argv);
  std::optional<fs::path> criu_flag;
  if (!a.opt["--criu"].empty()) criu_flag = a.opt["--criu"];
  auto bin = criu::locate(criu_flag);
  if (!bin) return report(fail(bin.error()));
  criu::ExecRunner runner(*bin);
  AliasingProcs procs;
  procs.alias = a.alias;
  NullProgress progress;
  amdtest::FakeKfd kfd;
  amd::DiskFiles files;
  AmdHost amd{.kfd = kfd,
              .files = files,
              .topology_root = a.opt["--topology"],
              .dev_root = a.opt["--dev-root"],
              .plugin_dirs = [] { return criu::kUsualPluginDirs; },
              .getenv = [](const char* n) -> const char* { return std::getenv(n); }};
  std::string gpucr = a.opt["--gpucr"].empty() ? "/proc/self/exe" : a.opt["--gpucr"];
  cuda::NvmlInventory nvidia(gpucr);
  cuda::RealBackendFactory cuda_backends(gpucr);
  freezer::CgroupFs freezer;
  HostHandlerProbe handlers(cuda_backends);
  proc::SystemControl control(procs);
  proc::SelfPrivileges privileges;
  SteadyTime time;
  runtime::CliRuntimeFactory runtimes;
  hooks::SysGpuPresence gpu_devices;
  auto run_path = RunDir::path_from(std::getenv("GPUCR_RUN_DIR"));
  if (!run_path) return report(fail(run_path.error()));
  RunDir run(*run_path, ::geteuid());
  Host host{.procs = procs,
            .control = control,
            .privileges = privileges,
            .time = time,
            .criu = runner,
            .progress = progress,
            .gpus = nvidia,
            .cuda_backends = cuda_backends,
            .freezer = freezer,
            .handlers = handlers,
            .runtimes = runtimes,
            .gpu_devices = gpu_devices,
            .run = run,
            .amd = &amd};
  if (!a.opt["--gpucr"].empty()) host.self_exe = a.opt["--gpucr"];  // runs __cuda-call, __guardian
  std::optional<ContainerRef> container;
  if (!a.opt["--container"].empty()) {
    container = ContainerRef{.id = a.opt["--container"], .runtime = a.opt["--runtime"]};
    if (!a.opt["--root"].empty()) container->globals = {"--root", a.opt["--root"]};
    if (!a.opt["--bundle"].empty()) container->bundle = a.opt["--bundle"];
  }
  if (a.verb == "checkpoint") {
    CheckpointRequest o;
    o.pid = static_cast<pid_t>(std::atoi(a.opt["--pid"].c_str()));
    o.container = container;
    o.image_dir = a.opt["--image-dir"];
    o.criu.plugins_dir = a.opt["--criu-plugins-dir"];
    // The tests read which plugins criu loaded from its debug lines (a runtime's criu logs at 4).
    if (!container) o.criu.log_level = 4;
    auto r = checkpoint(o, host);
    std::printf("criu_plugins=%s\n", join(r.criu_plugins, ",").c_str());
    return report(r.status);
  }
  if (a.verb == "restore") {
    RestoreRequest o;
    o.container = container;
    o.image_dir = a.opt["--image-dir"];
    if (!a.opt["--pid-file"].empty()) o.pid_file = a.opt["--pid-file"];
    o.detach = true;
    o.criu.plugins_dir = a.opt["--criu-plugins-dir"];
    if (!container) o.criu.log_level = 4;
    return report(restore(o, host).status);
  }
  std::fprintf(stderr, "usage: amd_fake_host checkpoint|restore ...\n");
  return 2;
}
