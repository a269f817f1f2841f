// The real AMD seams (KFD device, sysfs files, the CRIU plugin search list), owned together:
// used by RealHost for checkpoint/restore and by `inspect` on its own.
#pragma once

#include "core/amd_host.hpp"
#include "criu/locate.hpp"

#include <optional>

namespace gpucr::cli {

class RealAmdHost {
 public:
  // `criu`: the binary whose compiled-in plugin directory is searched (parsed lazily from
  // `criu --help`); without one, only $CRIU_LIBS_DIR and the usual directories.
  explicit RealAmdHost(std::optional<fs::path> criu = std::nullopt);
  RealAmdHost(const RealAmdHost&) = delete;
  RealAmdHost& operator=(const RealAmdHost&) = delete;
  const AmdHost& host() const { return host_; }

 private:
  amd::KfdDevice kfd_;
  amd::DiskFiles files_;
  AmdHost host_;
};

}  // namespace gpucr::cli
