#include "cli/compose.hpp"

#include "cli/output.hpp"

#include <unistd.h>

#include <cstdlib>

namespace gpucr::cli {

namespace {

std::optional<fs::path> env_path(const char* name) {
  const char* v = std::getenv(name);
  if (!v || !*v) return std::nullopt;
  return fs::path(v);
}

}  // namespace

fs::path scratch_parent() { return env_path("TMPDIR").value_or("/var/tmp"); }

Result<RunDir> real_run_dir() {
  auto path = GPUCR_TRY(RunDir::path_from(std::getenv("GPUCR_RUN_DIR")));
  return RunDir(path, ::geteuid());
}

RealHost::RealHost(criu::Binary bin, RunDir run, bool quiet)
    : criu_(std::move(bin)),
      progress_(quiet ? std::make_unique<NullProgress>() : make_progress()),
      handlers_(cuda_backends_, env_path("CRIU_LIBS_DIR")),
      run_(std::move(run)),
      amd_(criu_.binary().path.empty() ? std::nullopt : std::optional<fs::path>(criu_.binary().path)),
      host_{.procs = procs_,
            .control = control_,
            .privileges = privileges_,
            .time = time_,
            .criu = criu_,
            .progress = *progress_,
            .gpus = gpus_,
            .cuda_backends = cuda_backends_,
            .freezer = freezer_,
            .handlers = handlers_,
            .runtimes = runtimes_,
            .gpu_devices = gpu_devices_,
            .run = run_,
            .amd = &amd_.host()} {
  host_.thp = &thp_;
  host_.criu_plugin_dir = criu::plugin_dir(std::nullopt, std::getenv("CRIU_LIBS_DIR"));
  host_.criu_config_file = env_path("CRIU_CONFIG_FILE");
}

Result<std::unique_ptr<RealHost>> RealHost::create(const HostOptions& o) {
  auto run = GPUCR_TRY(real_run_dir());
  criu::Binary bin;
  if (o.need_criu) bin = GPUCR_TRY(criu::locate(o.criu));
  return std::unique_ptr<RealHost>(new RealHost(std::move(bin), std::move(run), o.quiet));
}

}  // namespace gpucr::cli
