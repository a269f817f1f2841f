// Hidden subcommands gpucr runs itself (common/self_exec.hpp), not for users: `__cuda-call`
// (one driver call in a killable child) and `__guardian` (finishes an operation if gpucr dies).
#include "cli/commands.hpp"
#include "cli/compose.hpp"
#include "common/self_exec.hpp"
#include "gpu/cuda/checkpointer.hpp"
#include "recovery/guardian.hpp"

namespace gpucr::cli {

void add_internal(CLI::App& app, Action& action) {
  struct CallArgs {
    std::string op;
    pid_t pid = 0;
    unsigned timeout_ms = 10000;
    std::string map;
  };
  auto call = std::make_shared<CallArgs>();
  auto* c = app.add_subcommand(self::kCudaCall, "internal: one CUDA driver call")->group("");
  c->add_option("op", call->op)->required();
  c->add_option("--pid", call->pid);
  c->add_option("--timeout-ms", call->timeout_ms);
  c->add_option("--map", call->map);
  c->callback([call, &action] {
    action = [call] { return cuda::run_helper(call->op, call->pid, call->timeout_ms, call->map); };
  });

  struct GuardArgs {
    fs::path journal;
    int fd = -1;
    std::optional<fs::path> cuda_tool;
    std::optional<fs::path> runtime;
  };
  auto guard = std::make_shared<GuardArgs>();
  auto* g = app.add_subcommand(self::kGuardian, "internal: finishes an operation if gpucr dies")->group("");
  g->add_option("--journal", guard->journal)->required();
  g->add_option("--fd", guard->fd)->required();
  g->add_option("--cuda-checkpoint", guard->cuda_tool);
  g->add_option("--runtime", guard->runtime);
  g->callback([guard, &action] {
    action = [guard] {
      auto rh = RealHost::create({.need_criu = false, .quiet = true});
      if (!rh) return static_cast<int>(rh.error().exit);
      auto seams = (*rh)->host().recovery();
      seams.cuda_tool = guard->cuda_tool;
      seams.runtime = guard->runtime;
      return recovery::run_guardian(guard->journal, guard->fd, seams);
    };
  });
}

}  // namespace gpucr::cli
