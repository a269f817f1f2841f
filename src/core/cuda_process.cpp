#include "core/cuda_process.hpp"

#include "gpu/cuda/deadlines.hpp"
#include "util/parallel.hpp"
#include "util/strings.hpp"

#include <mutex>
#include <thread>

namespace gpucr {

using cuda::State;
using cuda::Step;

namespace {

// One call on one process; updates it. Returns the failure line, or "" on success. `answer`
// gets the reply when one came.
std::string one_call(cuda::Checkpointer& backend, CudaProcess& p, Step step, const cuda::CallArgs& args, State after,
                     std::optional<cuda::Reply>* answer = nullptr) {
  auto budget = cuda::call_budget(step, p.device_bytes, args.lock_timeout);
  auto t0 = std::chrono::steady_clock::now();
  auto r = backend.call(step, p.info.pid, args, Clock::now() + budget);
  if (answer && r) *answer = *r;
  auto took = std::chrono::steady_clock::now() - t0;
  bool ok = r && r->ok();
  p.timings.push_back({to_string(step), took, ok});
  std::string what = std::string(cuda::to_string(step)) + " of " + p.who();
  if (!r) {
    p.known = false;  // killed mid-call: query before deciding anything
    p.outcome.push_back(std::string(cuda::to_string(step)) + ": no answer within " + format_duration(budget));
    return "CUDA " + what + " did not finish within " + format_duration(budget) + " (gpucr's deadline; the call was killed)";
  }
  if (!r->ok()) {
    p.outcome.push_back(std::string(cuda::to_string(step)) + ": failed: " + r->error);
    std::string why = r->code == cuda::cu::not_supported
                          ? " (the driver can't checkpoint this process: managed/UVM memory, CUDA IPC memory, MPS "
                            "and MIG are not supported)"
                          : "";
    return "CUDA " + what + " failed: " + r->error + why;
  }
  p.now = after;
  p.known = true;
  p.outcome.push_back(std::string(cuda::to_string(step)) + ": ok in " + format_duration(took));
  return "";
}

// NVIDIA's documented race: a process still initializing CUDA refuses a lock as an illegal state.
// (The tool backend has only the tool's message.) Other failures, a lock timeout included, are final.
bool init_race(const std::optional<cuda::Reply>& r) {
  return r && (r->code == cuda::cu::illegal_state ||
               (r->code == -1 && r->error.find("ILLEGAL_STATE") != std::string::npos));
}

Status collect(std::vector<std::string> failures, Step step) {
  std::erase(failures, std::string());
  if (failures.empty()) return {};
  Error e(failures.front());
  if (failures.size() > 1) {
    e.what = std::to_string(failures.size()) + " CUDA " + cuda::to_string(step) + " calls failed; first: " + failures.front();
    e.details.assign(failures.begin() + 1, failures.end());
  }
  return fail(std::move(e));
}

}  // namespace

Status run_step(cuda::Checkpointer& backend, std::vector<CudaProcess>& procs, Step step, const cuda::CallArgs& args,
                State after, const std::function<bool(const CudaProcess&)>& selected) {
  std::vector<CudaProcess*> todo;
  for (auto& p : procs) {
    if (selected(p)) todo.push_back(&p);
  }
  std::vector<std::string> failures(todo.size());
  parallel_for(todo.size(), [&](size_t i) { failures[i] = one_call(backend, *todo[i], step, args, after); });
  return collect(std::move(failures), step);
}

Status lock_step(cuda::Checkpointer& backend, std::vector<CudaProcess>& procs, const CudaOptions& opts) {
  cuda::CallArgs args;
  args.lock_timeout = opts.lock_timeout;
  std::vector<CudaProcess*> todo;
  for (auto& p : procs) {
    if (p.now == State::running) todo.push_back(&p);
  }
  std::vector<std::string> failures(todo.size());
  parallel_for(todo.size(), [&](size_t i) {
    CudaProcess& p = *todo[i];
    for (int attempt = 1;; ++attempt) {
      std::optional<cuda::Reply> answer;
      failures[i] = one_call(backend, p, Step::lock, args, State::locked, &answer);
      if (failures[i].empty() || attempt >= opts.lock_attempts || !p.known || !init_race(answer)) return;
      // Ask again only while the driver still says RUNNING (the init race), after a short pause.
      auto st = backend.call(Step::get_state, p.info.pid, args, Clock::now() + std::chrono::seconds(30));
      if (!st || !st->ok() || st->state != State::running) return;
      p.outcome.push_back("lock: retrying (attempt " + std::to_string(attempt + 1) + ")");
      std::this_thread::sleep_for(std::chrono::milliseconds(200 * attempt));
    }
  });
  return collect(std::move(failures), Step::lock);
}

}  // namespace gpucr
