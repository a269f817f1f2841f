#include "cli/real_host.hpp"

#include "cli/output.hpp"

namespace gpucr::cli {

RealHost::RealHost(criu::Binary bin)
    : criu_(std::move(bin)), progress_(make_progress()), amd_(criu_.binary().path),
      host_{procs_, criu_, *progress_, &amd_.host()} {}

Result<std::unique_ptr<RealHost>> RealHost::create(const std::optional<fs::path>& criu_flag) {
  auto bin = GPUCR_TRY(criu::locate(criu_flag));
  return std::unique_ptr<RealHost>(new RealHost(std::move(bin)));
}

}  // namespace gpucr::cli
