// The OCI state a runtime writes on a hook's stdin (runtime-spec "State"):
//   {"ociVersion": "1.0.2", "id": "c1", "status": "creating", "pid": 4242,
//    "bundle": "/abs/path", "annotations": {"key": "value"}}
// Validated strictly: ociVersion, id, status and bundle are required strings; status is one of
// creating, created, running, paused, stopped; pid, when present, is 1..4194304; bundle is an
// absolute path; annotations, when present, map strings to strings. Unknown fields are
// ignored. Input above kMaxStateBytes is refused. (The id's syntax is checked by the caller,
// core/container_hooks.cpp, with runtime::check_container_id.)
#pragma once

#include "util/result.hpp"

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <string>

namespace gpucr::hooks {

inline constexpr size_t kMaxStateBytes = 1 << 20;

struct OciState {
  std::string oci_version;
  std::string id;
  std::string status;
  pid_t pid = 0;  // 0: absent
  std::filesystem::path bundle;
  std::map<std::string, std::string> annotations;
};

Result<OciState> parse_oci_state(std::string_view json);

// Reads `fd` to its end: at most `max` bytes, within `timeout` (a runtime writes the state and
// closes the pipe; a terminal left on stdin would otherwise block the hook forever).
Result<std::string> read_bounded(int fd, size_t max, std::chrono::milliseconds timeout);

}  // namespace gpucr::hooks
