// The CUDA checkpointer seam: one checkpoint-API step on one process, under a hard deadline.
//
// Real implementations: ApiBackend (the driver API, each call in a `gpucr __cuda-call` child)
// and ToolBackend (NVIDIA's cuda-checkpoint). Both are safe to call from several threads at once:
// every call is its own child process, killed when the deadline passes.
#pragma once

#include "common/self_exec.hpp"
#include "gpu/cuda/driver_api.hpp"
#include "util/subprocess.hpp"

#include <chrono>
#include <memory>
#include <optional>

namespace gpucr::cuda {

struct CallArgs {
  std::chrono::milliseconds lock_timeout{10000};  // passed to the driver's lock
  std::vector<GpuPair> map;                       // restore: full one-to-one GPU map, or empty
};

// The driver's (or tool's) answer. code 0 is success; for the tool backend a failure has
// code -1 and the tool's message in `error`.
struct Reply {
  int code = 0;
  std::string error;
  std::optional<State> state;  // get_state
  int tid = 0;                 // restore_tid
  bool ok() const { return code == 0; }
};

class Checkpointer {
 public:
  virtual ~Checkpointer() = default;
  // "driver API (libcuda.so.1)" or "cuda-checkpoint (/usr/bin/cuda-checkpoint)".
  virtual std::string describe() const = 0;
  // "api" or "tool", recorded in the manifest and the journal.
  virtual std::string kind() const = 0;
  // Runs `step` on `pid`. An Error means no answer came: the deadline passed (the call was
  // killed, the process's state is unknown) or the helper/tool could not run.
  virtual Result<Reply> call(Step step, pid_t pid, const CallArgs& args, Clock::time_point deadline) = 0;
};

// `gpucr __cuda-call` requests and replies (one JSON line on stdout).
std::vector<std::string> helper_argv(const std::string& self_exe, Step step, pid_t pid, const CallArgs& args);
Result<Reply> parse_helper_reply(std::string_view out, Step step, pid_t pid);

class ApiBackend : public Checkpointer {
 public:
  explicit ApiBackend(std::string self_exe = self::kExe) : self_(std::move(self_exe)) {}
  std::string describe() const override { return "driver API (libcuda.so.1)"; }
  std::string kind() const override { return "api"; }
  Result<Reply> call(Step step, pid_t pid, const CallArgs& args, Clock::time_point deadline) override;

 private:
  std::string self_;
};

class ToolBackend : public Checkpointer {
 public:
  explicit ToolBackend(std::filesystem::path tool) : tool_(std::move(tool)) {}
  std::string describe() const override { return "cuda-checkpoint (" + tool_.string() + ")"; }
  std::string kind() const override { return "tool"; }
  Result<Reply> call(Step step, pid_t pid, const CallArgs& args, Clock::time_point deadline) override;
  const std::filesystem::path& tool() const { return tool_; }

 private:
  std::filesystem::path tool_;
};

// The `gpucr __cuda-call` helper itself: performs one step in this process and prints its
// reply. Returns the helper's exit code.
int run_helper(const std::string& op, pid_t pid, unsigned timeout_ms, const std::string& map);

}  // namespace gpucr::cuda
