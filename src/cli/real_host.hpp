// The real implementations of the seams in core/host.hpp, owned together.
#pragma once

#include "cli/amd_host.hpp"
#include "core/host.hpp"
#include "util/file.hpp"

#include <memory>
#include <optional>

namespace gpucr::cli {

class RealHost {
 public:
  // Locates criu (--criu, $GPUCR_CRIU, PATH) and sets up /proc and progress output.
  static Result<std::unique_ptr<RealHost>> create(const std::optional<fs::path>& criu_flag);
  Host& host() { return host_; }

 private:
  RealHost(criu::Binary bin);
  proc::ProcFs procs_;
  criu::ExecRunner criu_;
  std::unique_ptr<Progress> progress_;
  RealAmdHost amd_;
  Host host_;
};

}  // namespace gpucr::cli
