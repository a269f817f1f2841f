// Fakes for the container tests: a process table, a criu runner, an OCI runtime and the host's
// GPUs, plus a temporary directory. Namespace ctrtest keeps them apart from other tests' fakes.
#pragma once

#include "criu/runner.hpp"
#include "hooks/gpu_presence.hpp"
#include "proc/process_table.hpp"
#include "runtime/runtime.hpp"

#include <cstdlib>
#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <set>
#include <tuple>

namespace gpucr::ctrtest {

namespace fs = std::filesystem;

// A private directory under $TMPDIR, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "gpucr-unit-XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }
  fs::path operator/(const std::string& s) const { return path_ / s; }

 private:
  fs::path path_;
};

class FakeProcs : public proc::ProcessTable {
 public:
  // Adds a process; `nspid` defaults to {pid}. All processes share namespace `ns`.
  void add(pid_t pid, pid_t ppid, std::string comm, std::vector<pid_t> nspid = {}, std::string ns = "pid:[1]") {
    proc::ProcInfo p;
    p.pid = pid;
    p.ppid = ppid;
    p.comm = std::move(comm);
    p.state = 'S';
    p.start_time = 1000 + static_cast<std::uint64_t>(pid);
    p.nspid = nspid.empty() ? std::vector<pid_t>{pid} : nspid;
    procs[pid] = p;
    ns_of[pid] = std::move(ns);
  }
  void remove(pid_t pid) { procs.erase(pid); }

  Result<proc::ProcInfo> info(pid_t pid) const override {
    auto it = procs.find(pid);
    if (it == procs.end()) return fail(Error("no process " + std::to_string(pid), Exit::bad_input));
    return it->second;
  }
  Result<std::vector<pid_t>> children(pid_t pid) const override {
    std::vector<pid_t> out;
    for (const auto& [p, i] : procs) if (i.ppid == pid) out.push_back(p);
    return out;
  }
  Result<std::vector<pid_t>> all_pids() const override {
    std::vector<pid_t> out;
    for (const auto& [p, i] : procs) out.push_back(p);
    return out;
  }
  Result<std::vector<proc::FdEntry>> fds(pid_t) const override { return std::vector<proc::FdEntry>{}; }
  Result<std::vector<std::string>> mapped_files(pid_t pid) const override {
    auto it = maps.find(pid);
    return it == maps.end() ? std::vector<std::string>{} : it->second;
  }
  Result<std::string> cgroup(pid_t pid) const override {
    if (!procs.count(pid)) return fail(Error("no process", Exit::bad_input));
    return cgroup_text;
  }
  Result<std::string> pid_namespace(pid_t pid) const override {
    auto it = ns_of.find(pid);
    if (it == ns_of.end()) return fail(Error("no process", Exit::bad_input));
    return it->second;
  }

  std::map<pid_t, proc::ProcInfo> procs;
  std::map<pid_t, std::string> ns_of;
  std::map<pid_t, std::vector<std::string>> maps;  // file mappings (libcuda makes a CUDA candidate)
  std::string cgroup_text = "6:freezer:/c1\n0::/c1\n";
};

class FakeCriu : public criu::Runner {
 public:
  FakeCriu() { bin_.path = "/fake/criu"; bin_.version = {4, 1, 1}; }
  const criu::Binary& binary() const override { return bin_; }
  Result<criu::Outcome> run(const criu::Invocation&, const std::function<void(pid_t)>&) override {
    return fail(Error("FakeCriu::run: a container driver must not run criu itself", Exit::internal));
  }

 private:
  criu::Binary bin_;
};

// A runtime command that ends at once with `status` (or runs until killed when `forever`).
class FakeRunning : public runtime::Running {
 public:
  FakeRunning(ExitStatus s, bool forever) : status_(s), forever_(forever) {}
  pid_t pid() const override { return 4242; }
  std::optional<ExitStatus> wait_until(Clock::time_point) override {
    if (forever_ && !killed_) return std::nullopt;
    return killed_ ? ExitStatus{.signal = killed_, .signaled = true} : status_;
  }
  void kill(int sig) override { killed_ = sig; }

 private:
  ExitStatus status_;
  bool forever_;
  int killed_ = 0;
};

class FakeRuntime : public runtime::Runtime {
 public:
  std::string name() const override { return "fakerunc"; }
  fs::path path() const override { return "/fake/runc"; }
  std::vector<std::string> globals() const override { return {"--root", "/fake/root"}; }
  Result<runtime::ContainerState> state(const std::string& id) override {
    ++state_calls;
    auto it = states.find(id);
    if (it == states.end()) return fail(Error("container " + id + " does not exist", Exit::bad_input));
    return it->second;
  }
  Result<std::unique_ptr<runtime::Running>> start(const std::vector<std::string>& args, const Env& env = {},
                                                  const Started& started_cb = {}) override {
    started.push_back(args);
    envs.push_back(env);
    if (started_cb) started_cb(4242);
    if (on_start) on_start(args);
    ExitStatus st = exits.empty() ? ExitStatus{} : exits.front();
    if (!exits.empty()) exits.pop_front();
    return std::unique_ptr<runtime::Running>(new FakeRunning(st, keep_running));
  }

  std::map<std::string, runtime::ContainerState> states;
  std::vector<std::vector<std::string>> started;
  std::vector<Env> envs;         // the extra environment of each start
  std::deque<ExitStatus> exits;  // one per start; success when empty
  bool keep_running = false;     // started commands run until killed (a foreground restore)
  std::function<void(const std::vector<std::string>&)> on_start;
  int state_calls = 0;
};

class FakeGpus : public hooks::GpuPresence {
 public:
  Result<std::vector<hooks::HostGpu>> gpus() override { return host; }
  bool device_exists(char type, unsigned major, unsigned minor) override {
    return devices.count({type, major, minor}) > 0;
  }
  std::vector<hooks::HostGpu> host;
  std::set<std::tuple<char, unsigned, unsigned>> devices;
};

}  // namespace gpucr::ctrtest
