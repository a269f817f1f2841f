// gpucr's hooks.d files (oci-hooks(5), schema 1.0.0), read by podman and CRI-O:
//
//   90-gpucr-prestart.json
//   {"version": "1.0.0",
//    "hook": {"path": "/usr/local/bin/gpucr", "args": ["gpucr", "hook", "prestart"],
//             "env": ["GPUCR_RUN_DIR=/x"],      (only when a run dir other than /run/gpucr is used)
//             "timeout": 60},
//    "when": {"always": true},
//    "stages": ["prestart"]}
//   90-gpucr-poststop.json: the same with "poststop".
//
// Why "when": {"always": true}: oci-hooks has no condition on devices, and GPUs reach containers
// in several ways (--device, CDI specs, NVIDIA's own prestart hook, bind mounts), so no
// annotation or hasBindMounts rule matches exactly the GPU containers without asking every user
// to label them. The hook filters itself: for a container without GPU devices prestart reads
// config.json, finds none and exits 0 without writing anything; poststop removes nothing.
// runc runs prestart also during a restore (at CRIU's setup-namespaces stage), which is what
// the GPU presence check needs; "90-" sorts it after device-injecting hooks such as NVIDIA's.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace gpucr::hooks {

inline constexpr const char* kDefaultHooksDir = "/usr/share/containers/oci/hooks.d";
inline constexpr const char* kOverrideHooksDir = "/etc/containers/oci/hooks.d";
inline constexpr int kHookTimeoutSeconds = 60;

struct HookFile {
  std::string name;     // file name in the hooks directory
  std::string stage;    // "prestart" or "poststop"
  std::string content;  // JSON, newline-terminated
};

// The files install writes; `run_dir` is put in the hook's env when not the default.
std::vector<HookFile> hook_files(const std::filesystem::path& gpucr_binary, const std::filesystem::path& run_dir);

// True when `content` is a hook definition gpucr wrote for `stage` (whatever binary path it
// names): uninstall removes only those.
bool is_gpucr_hook_file(std::string_view content, std::string_view stage);

}  // namespace gpucr::hooks
