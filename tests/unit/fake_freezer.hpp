// FakeFreezer: the freezer seam in memory. Tests set which cgroup each pid is in and each
// cgroup's state; freeze/thaw change the state and are recorded in `calls`.
#pragma once

#include "freezer/freezer.hpp"

#include <map>
#include <set>
#include <vector>

namespace gpucr::fakes {

class FakeFreezer : public freezer::Freezer {
 public:
  std::map<pid_t, freezer::Lookup> lookups;
  std::map<std::string, freezer::State> states;  // by cgroup dir
  std::set<std::string> gone;                    // dirs that no longer exist
  std::vector<std::string> calls;                // "freeze DIR", "thaw DIR"
  bool strict = false;                           // unknown pids: an error (else: no cgroup)
  bool fail_thaw = false;
  bool freeze_sticks_in_freezing = false;        // freeze times out in FREEZING

  // Puts `pid` into a v2 cgroup at `dir` in state `s`.
  freezer::Cgroup place(pid_t pid, const std::string& dir, freezer::State s,
                        freezer::Version v = freezer::Version::v2) {
    freezer::Cgroup cg{v, "/" + fs::path(dir).filename().string(), dir};
    lookups[pid] = freezer::Lookup{cg, ""};
    states[dir] = s;
    return cg;
  }

  Result<freezer::Lookup> find(pid_t pid) const override {
    auto it = lookups.find(pid);
    if (it == lookups.end()) {
      if (strict) return fail(Error("no process with pid " + std::to_string(pid), Exit::bad_input));
      return freezer::Lookup{std::nullopt, "pid " + std::to_string(pid) + " is in the root cgroup (fake)"};
    }
    return it->second;
  }
  Result<freezer::Cgroup> at(const fs::path& dir) const override {
    if (!states.count(dir.string())) return fail(Error(dir.string() + " is not a freezer cgroup", Exit::usage));
    return freezer::Cgroup{freezer::Version::v1, "", dir};
  }
  bool exists(const freezer::Cgroup& cg) const override { return !gone.count(cg.dir.string()); }
  Result<freezer::State> state(const freezer::Cgroup& cg) const override {
    auto it = states.find(cg.dir.string());
    if (it == states.end()) return fail(Error("cgroup " + cg.dir.string() + " no longer exists", Exit::bad_input));
    return it->second;
  }
  Status freeze(const freezer::Cgroup& cg, std::chrono::milliseconds) override {
    calls.push_back("freeze " + cg.dir.string());
    if (freeze_sticks_in_freezing) {
      states[cg.dir.string()] = freezer::State::freezing;
      return fail(Error(cg.dir.string() + " did not finish freezing (still FREEZING)"));
    }
    states[cg.dir.string()] = freezer::State::frozen;
    return {};
  }
  Status thaw(const freezer::Cgroup& cg, std::chrono::milliseconds) override {
    calls.push_back("thaw " + cg.dir.string());
    if (fail_thaw) return fail(Error(cg.dir.string() + " did not thaw (still FROZEN)"));
    states[cg.dir.string()] = freezer::State::thawed;
    return {};
  }
};

}  // namespace gpucr::fakes
