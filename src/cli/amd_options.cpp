#include "cli/amd_options.hpp"

#include "util/strings.hpp"

namespace gpucr::cli {

void add_plugins_dir_option(CLI::App* sub, std::optional<fs::path>& dir) {
  sub->add_option("--criu-plugins-dir", dir,
                  "Directory holding CRIU's plugins (amdgpu_plugin.so); default: $CRIU_LIBS_DIR, criu's own "
                  "plugin directory, /usr/lib/criu and the usual multiarch paths");
}

void add_skip_check_option(CLI::App* sub, AmdOptions& o) {
  sub->add_option_function<std::vector<std::string>>(
         "--amd-skip-check",
         [&o](const std::vector<std::string>& names) {
           for (const auto& n : names) {
             if (auto st = amd::skip_checks(n, o.checks); !st) throw CLI::ValidationError("--amd-skip-check", st.error().what);
           }
         },
         "Relax CRIU amdgpu plugin rules when mapping AMD GPUs on restore: comma-separated fw, sdma-fw, caches, "
         "gws, vram, numa, capability (passed to the plugin as KFD_*_CHECK=0)")
      ->delimiter(',');
}

void add_max_buffer_option(CLI::App* sub, AmdOptions& o) {
  sub->add_option_function<std::string>(
      "--amd-max-buffer",
      [&o](const std::string& v) {
        auto n = parse_size(v, "--amd-max-buffer");
        if (!n || *n == 0) throw CLI::ValidationError("--amd-max-buffer", "expected a size such as 512M or 2G");
        o.max_buffer = *n;
      },
      "Cap the amdgpu plugin's per-GPU bounce buffer on restore (KFD_MAX_BUFFER_SIZE; default: set automatically "
      "when the largest buffers would not fit in available memory)");
}

}  // namespace gpucr::cli
