// The composition root: the real implementation of every seam (core/host.hpp), built in one
// place for each way gpucr runs (ARCHITECTURE.md, "Process model"): the command line, the OCI
// runtime wrapper, the OCI hooks, `gpucr recover` and the helpers gpucr starts itself. This is
// where the environment is read ($GPUCR_RUN_DIR, $CRIU_LIBS_DIR, $CRIU_CONFIG_FILE, $GPUCR_CRIU,
// $TMPDIR).
#pragma once

#include "cli/amd_host.hpp"
#include "core/handler_probe.hpp"
#include "core/host.hpp"
#include "freezer/cgroup_fs.hpp"
#include "runtime/cli_runtime.hpp"

#include <memory>
#include <optional>

namespace gpucr::cli {

struct HostOptions {
  std::optional<fs::path> criu;  // --criu; else $GPUCR_CRIU, else criu in PATH
  bool need_criu = true;         // false: recovery, hooks and helpers never run criu
  bool quiet = false;            // no progress output (the wrapper: stdio belongs to the engine)
};

class RealHost {
 public:
  static Result<std::unique_ptr<RealHost>> create(const HostOptions& o);
  RealHost(const RealHost&) = delete;
  RealHost& operator=(const RealHost&) = delete;
  Host& host() { return host_; }

 private:
  RealHost(criu::Binary bin, RunDir run, bool quiet);
  proc::ProcFs procs_;
  proc::SystemControl control_{procs_};
  proc::SelfPrivileges privileges_;
  SteadyTime time_;
  criu::ExecRunner criu_;
  cuda::NvmlInventory gpus_;
  cuda::RealBackendFactory cuda_backends_;
  std::unique_ptr<Progress> progress_;
  freezer::CgroupFs freezer_;
  HostHandlerProbe handlers_;
  runtime::CliRuntimeFactory runtimes_;
  hooks::SysGpuPresence gpu_devices_;
  mm::SysThp thp_;
  RunDir run_;
  RealAmdHost amd_;
  Host host_;
};

// gpucr's real run directory (common/run_dir.hpp) for this user.
Result<RunDir> real_run_dir();

// Where private image directories go (`checkpoint --export` and `restore --import` without
// --image-dir, `inspect FILE`): $TMPDIR when set, else /var/tmp (on disk: images can be large).
fs::path scratch_parent();

}  // namespace gpucr::cli
