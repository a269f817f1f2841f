// The real implementations of the seams in core/host.hpp, owned together.
#pragma once

#include "core/handler_probe.hpp"
#include "cli/amd_host.hpp"
#include "core/host.hpp"
#include "core/recover.hpp"
#include "freezer/cgroup_fs.hpp"
#include "util/file.hpp"

#include <memory>
#include <optional>

namespace gpucr::cli {

class RealHost {
 public:
  // Locates criu (--criu, $GPUCR_CRIU, PATH) and sets up /proc and progress output (none when
  // `quiet`: the runtime wrapper's stdio belongs to the engine and the container).
  static Result<std::unique_ptr<RealHost>> create(const std::optional<fs::path>& criu_flag, bool quiet = false);
  Host& host() { return host_; }

 private:
  RealHost(criu::Binary bin, bool quiet);
  proc::ProcFs procs_;
  criu::ExecRunner criu_;
  cuda::NvmlInventory gpus_;
  cuda::RealBackendFactory cuda_backends_;
  std::unique_ptr<Progress> progress_;
  freezer::CgroupFs freezer_;
  HostHandlerProbe handlers_;
  RealAmdHost amd_;
  Host host_;
};

// Recovery with the real seams: the journal's backend through `factory`.
RecoverDeps make_recover_deps(const proc::ProcessTable& procs, cuda::BackendFactory& factory);

// Finishes operations whose gpucr and guardian both died (run before each checkpoint/restore).
void recover_abandoned(Host& host);

}  // namespace gpucr::cli
