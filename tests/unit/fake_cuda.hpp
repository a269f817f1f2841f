// Fakes for the CUDA seams: a GPU inventory with fixed contents and a backend factory that
// hands out a scripted checkpointer (or says no backend is installed).
#pragma once

#include "gpu/cuda/inventory.hpp"
#include "gpu/cuda/select.hpp"

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

namespace gpucr::fakes {

class FakeGpuInventory : public cuda::GpuInventory {
 public:
  std::vector<cuda::GpuInfo> list;
  Result<std::vector<cuda::GpuInfo>> gpus() override { return list; }
};

// make() returns the checkpointer `create` builds, or "no CUDA backend" when it is empty.
class FakeBackendFactory : public cuda::BackendFactory {
 public:
  std::function<std::unique_ptr<cuda::Checkpointer>()> create;
  Result<std::unique_ptr<cuda::Checkpointer>> make(cuda::BackendChoice,
                                                   const std::optional<std::filesystem::path>&) override {
    if (!create) return fail(Error("no CUDA checkpoint backend (fake host)", Exit::missing_dependency));
    return create();
  }
};

// The driver's state machine per pid (docs/FACTS.md §2 codes): pids not in `states` are not CUDA
// processes (CUDA_ERROR_NOT_INITIALIZED). `fail` makes one step fail for one pid. Every call is
// recorded as "step pid". Thread-safe: gpucr calls it from several threads.
class FakeCheckpointer : public cuda::Checkpointer {
 public:
  std::map<pid_t, cuda::State> states;
  std::map<std::pair<cuda::Step, pid_t>, int> fail;
  std::vector<std::string> calls;

  std::string describe() const override { return "fake checkpointer"; }
  std::string kind() const override { return "api"; }
  Result<cuda::Reply> call(cuda::Step step, pid_t pid, const cuda::CallArgs&, Clock::time_point) override {
    std::lock_guard lock(mu_);
    calls.push_back(std::string(cuda::to_string(step)) + " " + std::to_string(pid));
    cuda::Reply r;
    auto it = states.find(pid);
    if (it == states.end()) return cuda::Reply{cuda::cu::not_initialized, "CUDA_ERROR_NOT_INITIALIZED"};
    if (auto f = fail.find({step, pid}); f != fail.end()) return cuda::Reply{f->second, "CUDA_ERROR_INJECTED"};
    using cuda::State;
    State& st = it->second;
    auto move = [&](State from, State to) {
      if (st != from) return cuda::Reply{cuda::cu::illegal_state, "CUDA_ERROR_ILLEGAL_STATE"};
      st = to;
      return r;
    };
    switch (step) {
      case cuda::Step::get_state: r.state = st; return r;
      case cuda::Step::lock: return move(State::running, State::locked);
      case cuda::Step::checkpoint: return move(State::locked, State::checkpointed);
      case cuda::Step::restore: return move(State::checkpointed, State::locked);
      case cuda::Step::unlock: return move(State::locked, State::running);
      case cuda::Step::restore_tid: r.tid = pid; return r;
    }
    return r;
  }

 private:
  std::mutex mu_;
};

// Forwards every call to a FakeCheckpointer the test keeps: gpucr destroys its backend when an
// operation ends, and the test looks at the fake driver afterwards.
class ForwardingCheckpointer : public cuda::Checkpointer {
 public:
  explicit ForwardingCheckpointer(std::shared_ptr<FakeCheckpointer> to) : to_(std::move(to)) {}
  std::string describe() const override { return to_->describe(); }
  std::string kind() const override { return to_->kind(); }
  Result<cuda::Reply> call(cuda::Step step, pid_t pid, const cuda::CallArgs& args, Clock::time_point d) override {
    return to_->call(step, pid, args, d);
  }

 private:
  std::shared_ptr<FakeCheckpointer> to_;
};

// A factory whose backend is a FakeCheckpointer the test keeps a pointer to (alive as long as
// the factory function is).
inline std::function<std::unique_ptr<cuda::Checkpointer>()> handing_out(FakeCheckpointer*& out) {
  auto kept = std::make_shared<std::vector<std::shared_ptr<FakeCheckpointer>>>();
  return [&out, kept] {
    auto c = std::make_shared<FakeCheckpointer>();
    kept->push_back(c);
    out = c.get();
    return std::unique_ptr<cuda::Checkpointer>(new ForwardingCheckpointer(c));
  };
}

}  // namespace gpucr::fakes
