// `gpucr install` / `gpucr uninstall`: the files that connect gpucr to container engines.
//
//   HOOKS_DIR/90-gpucr-prestart.json, 90-gpucr-poststop.json   hooks.d files (hooks/hooks_file.hpp)
//   BIN_DIR/gpucr-runc, BIN_DIR/gpucr-crun                      symlinks to gpucr: the runtime wrapper
//   PODMAN_CONF (e.g. /etc/containers/containers.conf.d/50-gpucr.conf)   only when asked
//   CRIO_CONF   (e.g. /etc/crio/crio.conf.d/50-gpucr.conf)               only when asked
// containerd's configuration is printed, never written (its config.toml is one file that
// gpucr does not own).
//
// uninstall removes exactly those of these files that gpucr wrote: hooks files whose hook is
// ["gpucr", "hook", STAGE], symlinks that resolve to a gpucr binary, drop-ins that start with
// kConfMarker. Anything else at those paths is left alone and reported.
#pragma once

#include "util/file.hpp"

#include <optional>
#include <string>
#include <vector>

namespace gpucr {

inline constexpr const char* kConfMarker = "# Written by gpucr install; gpucr uninstall removes this file.";

struct InstallOptions {
  fs::path gpucr_binary;               // absolute path of the gpucr executable
  fs::path run_dir;                    // put into the hooks' env when not /run/gpucr
  fs::path hooks_dir;
  fs::path bin_dir;                    // where the wrapper links go
  bool hooks = true;
  bool links = true;
  std::optional<fs::path> podman_conf;
  std::optional<fs::path> crio_conf;
};

// Each returns one line per file: "wrote X", "linked X -> Y", "removed X", "left X: ...".
Result<std::vector<std::string>> install(const InstallOptions& o);
Result<std::vector<std::string>> uninstall(const InstallOptions& o);

// The engine configuration for wrappers living in `bin_dir`, as printed by `gpucr install`.
std::string podman_conf_text(const fs::path& bin_dir);
std::string crio_conf_text(const fs::path& bin_dir);
std::string containerd_conf_text(const fs::path& bin_dir);
std::string engine_instructions(const fs::path& bin_dir, const InstallOptions& o);

}  // namespace gpucr
