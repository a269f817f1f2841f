// Fakes of gpucr's seams for unit tests (ARCHITECTURE.md, "Seams"):
//
//   FakeProcessTable   an in-memory process table: processes with parents, state, session and
//                      process group, NSpid chains, open fds, mapped files, cgroup text and pid
//                      namespace. A process can be set to vanish after it was looked up N times
//                      (a zombie that gets reaped while a driver polls).
//   FakeCriuRunner     records every Invocation and answers with scripted outcomes, in order:
//                      success, an exit code with Error lines, or a spawn error. A script may
//                      have an effect (write the files criu would: images, pidfile, stats) and
//                      the runner calls the `started` callback with a fake pid. A successful
//                      dump runs its action script's "post-dump" (Invocation::on_action) after
//                      the effect, as criu does; a refusal fails the dump as criu's would.
//   RecordingProgress  records the phases and notes a driver reports.
//   FakePrivileges     root unless a test says otherwise (the unit suite runs unprivileged too).
//   FakeTime           a clock whose sleep_for advances it at once.
//   FakeControl        records the signals a driver sends; SIGKILL removes the process from a
//                      FakeProcessTable (`table`), so no real process is ever signalled.
//   FakeRuntimeFactory opens every runtime as `target` (container tests: container_fakes.hpp).
//   NoGpuDevices       a host without GPU device nodes.
//   FakeThp            the host's transparent huge page mode (madvise unless a test says otherwise);
//                      records every write and can fail reads or writes.
//   FakeHost           all of Host's seams faked (CUDA: fake_cuda.hpp, freezer: fake_freezer.hpp,
//                      GPU handlers: fake_handler_probe.hpp), a private run directory, and the
//                      Host over them.
//
// Keep these fakes general: every driver test builds on them.
#pragma once

#include "core/host.hpp"
#include "core/progress.hpp"
#include "mm/thp.hpp"
#include "proc/control.hpp"
#include "proc/privileges.hpp"
#include "runtime/runtime.hpp"
#include "support.hpp"
#include "util/time.hpp"
#include "criu/runner.hpp"
#include "fake_cuda.hpp"
#include "fake_freezer.hpp"
#include "fake_handler_probe.hpp"
#include "proc/process_table.hpp"

#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace gpucr::fakes {

class FakeProcessTable : public proc::ProcessTable {
 public:
  struct Process {
    proc::ProcInfo info;
    std::vector<proc::FdEntry> fds;
    std::vector<std::string> mapped;               // file-backed mappings
    std::string cgroup = "0::/user.slice\n";       // raw /proc/PID/cgroup
    std::string pid_ns = "pid:[4026531836]";       // readlink /proc/PID/ns/pid
    int lookups_left = -1;                         // >= 0: vanishes after this many info() calls
  };

  // Adds (or replaces) a live process. Session and process group default to the parent's when
  // the parent is known, else to `pid`; NSpid defaults to {pid}; start time to 100000 + pid.
  Process& add(pid_t pid, pid_t ppid, std::string comm = "proc") {
    std::lock_guard lock(mu_);
    Process p;
    p.info.pid = pid;
    p.info.ppid = ppid;
    p.info.comm = std::move(comm);
    p.info.state = 'S';
    p.info.start_time = 100000 + static_cast<std::uint64_t>(pid);
    p.info.nspid = {pid};
    auto parent = procs_.find(ppid);
    p.info.pgid = parent != procs_.end() ? parent->second.info.pgid : pid;
    p.info.sid = parent != procs_.end() ? parent->second.info.sid : pid;
    return procs_[pid] = std::move(p);
  }
  // The process to edit (it must exist).
  Process& at(pid_t pid) {
    std::lock_guard lock(mu_);
    return procs_.at(pid);
  }
  void remove(pid_t pid) {
    std::lock_guard lock(mu_);
    procs_.erase(pid);
  }
  void make_zombie(pid_t pid) { at(pid).info.state = 'Z'; }
  // The process disappears after `n` more info() calls returned it.
  void vanish_after(pid_t pid, int n) { at(pid).lookups_left = n; }
  bool has(pid_t pid) const {
    std::lock_guard lock(mu_);
    return procs_.count(pid) != 0;
  }
  int info_calls() const {
    std::lock_guard lock(mu_);
    return info_calls_;
  }

  // MemAvailable as this fake host reports it; unset: the real one.
  std::optional<std::uint64_t> available;
  Result<std::uint64_t> mem_available() const override {
    if (available) return *available;
    return proc::ProcessTable::mem_available();
  }

  Result<proc::ProcInfo> info(pid_t pid) const override {
    std::lock_guard lock(mu_);
    ++info_calls_;
    auto it = procs_.find(pid);
    if (it == procs_.end()) return gone(pid);
    if (it->second.lookups_left == 0) {
      procs_.erase(it);
      return gone(pid);
    }
    if (it->second.lookups_left > 0) --it->second.lookups_left;
    return it->second.info;
  }
  Result<std::vector<pid_t>> children(pid_t pid) const override {
    std::lock_guard lock(mu_);
    if (!procs_.count(pid)) return gone(pid);
    std::vector<pid_t> out;
    for (const auto& [p, proc] : procs_) {
      if (proc.info.ppid == pid && p != pid) out.push_back(p);
    }
    return out;
  }
  Result<std::vector<pid_t>> all_pids() const override {
    std::lock_guard lock(mu_);
    std::vector<pid_t> out;
    for (const auto& [p, proc] : procs_) out.push_back(p);
    return out;
  }
  Result<std::vector<proc::FdEntry>> fds(pid_t pid) const override {
    std::lock_guard lock(mu_);
    if (!procs_.count(pid)) return gone(pid);
    return procs_.at(pid).fds;
  }
  Result<std::vector<std::string>> mapped_files(pid_t pid) const override {
    std::lock_guard lock(mu_);
    if (!procs_.count(pid)) return gone(pid);
    return procs_.at(pid).mapped;
  }
  Result<std::string> cgroup(pid_t pid) const override {
    std::lock_guard lock(mu_);
    if (!procs_.count(pid)) return gone(pid);
    return procs_.at(pid).cgroup;
  }
  Result<std::string> pid_namespace(pid_t pid) const override {
    std::lock_guard lock(mu_);
    if (!procs_.count(pid)) return gone(pid);
    return procs_.at(pid).pid_ns;
  }

 private:
  static Unexpected gone(pid_t pid) {
    return fail(Error("process " + std::to_string(pid) + " does not exist", Exit::bad_input));
  }
  mutable std::mutex mu_;
  mutable std::map<pid_t, Process> procs_;
  mutable int info_calls_ = 0;
};

class FakeCriuRunner : public criu::Runner {
 public:
  struct Script {
    Result<criu::Outcome> outcome = criu::Outcome{};
    // Runs before the outcome is returned, e.g. to write the files criu would write.
    std::function<void(const criu::Invocation&)> effect;
  };

  explicit FakeCriuRunner(criu::Version version = {4, 1, 1}) {
    bin_.path = "/fake/criu";
    bin_.version = version;
    bin_.source = "test";
  }

  // criu exits 0 (after `effect`, when given).
  static Script succeed(std::function<void(const criu::Invocation&)> effect = {}) {
    return Script{criu::Outcome{}, std::move(effect)};
  }
  // criu exits with `code`; its log held `error_lines`.
  static Script exit_with(int code, std::vector<std::string> error_lines = {}) {
    criu::Outcome o;
    o.status.code = code;
    o.error_lines = std::move(error_lines);
    return Script{o, {}};
  }
  // criu could not be started at all.
  static Script spawn_error(Error e) { return Script{fail(std::move(e)), {}}; }

  void push(Script s) { scripts_.push_back(std::move(s)); }

  const criu::Binary& binary() const override { return bin_; }
  // Scripts are used in order; with none left, criu "succeeds" without effect.
  Result<criu::Outcome> run(const criu::Invocation& inv, const std::function<void(pid_t)>& started) override {
    invocations.push_back(inv);
    if (started) started(started_pid);
    if (scripts_.empty()) return criu::Outcome{};
    Script s = std::move(scripts_.front());
    scripts_.pop_front();
    if (s.effect) s.effect(inv);
    bool dump = !inv.args.empty() && inv.args[0] == "dump";
    if (dump && s.outcome && s.outcome->status.success() && inv.on_action) {
      actions.push_back("post-dump");
      if (auto verdict = inv.on_action("post-dump"); !verdict) {
        criu::Outcome o;
        o.status.code = 1;
        o.error_lines = {"Error (criu/cr-dump.c:0): post-dump script failed: " + verdict.error().what,
                         "Error (criu/cr-dump.c:0): Dumping FAILED."};
        return o;
      }
    }
    return s.outcome;
  }

  // The value after `flag` in an invocation's args, if the flag is there.
  static std::optional<std::string> arg_after(const criu::Invocation& inv, std::string_view flag) {
    for (size_t i = 0; i + 1 < inv.args.size(); ++i) {
      if (inv.args[i] == flag) return inv.args[i + 1];
    }
    return std::nullopt;
  }
  static bool has_arg(const criu::Invocation& inv, std::string_view flag) {
    return std::find(inv.args.begin(), inv.args.end(), flag) != inv.args.end();
  }

  std::vector<criu::Invocation> invocations;
  std::vector<std::string> actions;  // the action-script actions run
  pid_t started_pid = 4242;

 private:
  criu::Binary bin_;
  std::deque<Script> scripts_;
};

class RecordingProgress : public Progress {
 public:
  void begin(std::string_view phase, std::function<std::string()>) override { begun.emplace_back(phase); }
  void end(std::string_view phase, std::chrono::nanoseconds, bool ok) override {
    ended.emplace_back(phase);
    ok_flags.push_back(ok);
  }
  void note(std::string_view line) override { notes.emplace_back(line); }

  std::vector<std::string> begun;
  std::vector<std::string> ended;
  std::vector<bool> ok_flags;
  std::vector<std::string> notes;
};

class FakePrivileges : public proc::Privileges {
 public:
  uid_t euid() const override { return euid_; }
  uid_t uid() const override { return uid_; }
  bool setid() const override { return euid_ != uid_; }
  uid_t euid_ = 0;
  uid_t uid_ = 0;
};

class FakeTime : public TimeSource {
 public:
  Clock::time_point now() const override {
    std::lock_guard lock(mu_);
    return now_;
  }
  void sleep_for(std::chrono::milliseconds d) override {
    std::lock_guard lock(mu_);
    now_ += d;
    slept += d;
  }
  std::chrono::system_clock::time_point wall() const override {
    std::lock_guard lock(mu_);
    return wall0_ + std::chrono::duration_cast<std::chrono::system_clock::duration>(now_ - start_);
  }
  std::chrono::milliseconds slept{0};

 private:
  mutable std::mutex mu_;
  Clock::time_point start_ = Clock::now();
  Clock::time_point now_ = start_;
  std::chrono::system_clock::time_point wall0_ = std::chrono::system_clock::now();
};

class FakeControl : public proc::ProcessControl {
 public:
  Status kill(const proc::ProcessId& id, int sig) override {
    kills.emplace_back(id.pid, sig);
    if (sig == SIGKILL && table && table->has(id.pid)) table->remove(id.pid);
    return {};
  }
  Status kill_group(const proc::ProcessId& leader, int sig) override {
    group_kills.emplace_back(leader.pid, sig);
    return kill(leader, sig);
  }
  std::optional<ExitStatus> reap(pid_t child, Clock::time_point) override {
    reaped.push_back(child);
    return ExitStatus{.code = 0, .signal = SIGKILL, .signaled = true};
  }
  FakeProcessTable* table = nullptr;
  std::vector<std::pair<pid_t, int>> kills;
  std::vector<std::pair<pid_t, int>> group_kills;
  std::vector<pid_t> reaped;
};

// Opens every runtime as `target` (a FakeRuntime of container_fakes.hpp); without one, no
// container operation can run.
class FakeRuntimeFactory : public runtime::RuntimeFactory {
 public:
  std::unique_ptr<runtime::Runtime> open(const fs::path& path, const std::vector<std::string>& globals) override;
  runtime::Runtime* target = nullptr;
  std::vector<std::pair<fs::path, std::vector<std::string>>> opened;
};

class ForwardingRuntime : public runtime::Runtime {
 public:
  explicit ForwardingRuntime(runtime::Runtime* t) : t_(t) {}
  std::string name() const override { return t_ ? t_->name() : "none"; }
  fs::path path() const override { return t_ ? t_->path() : fs::path(); }
  std::vector<std::string> globals() const override { return t_ ? t_->globals() : std::vector<std::string>{}; }
  Result<runtime::ContainerState> state(const std::string& id) override {
    if (!t_) return fail(Error("no runtime in this test", Exit::internal));
    return t_->state(id);
  }
  Result<std::unique_ptr<runtime::Running>> start(const std::vector<std::string>& args, const Env& env = {},
                                                  const Started& started = {}) override {
    if (!t_) return fail(Error("no runtime in this test", Exit::internal));
    return t_->start(args, env, started);
  }

 private:
  runtime::Runtime* t_;
};

inline std::unique_ptr<runtime::Runtime> FakeRuntimeFactory::open(const fs::path& path,
                                                                   const std::vector<std::string>& globals) {
  opened.emplace_back(path, globals);
  return std::make_unique<ForwardingRuntime>(target);
}

class NoGpuDevices : public hooks::GpuPresence {
 public:
  Result<std::vector<hooks::HostGpu>> gpus() override { return std::vector<hooks::HostGpu>{}; }
  bool device_exists(char, unsigned, unsigned) override { return false; }
};

class FakeThp : public mm::ThpSettings {
 public:
  Result<mm::ThpMode> mode() const override {
    if (fail_read) return fail(Error("cannot read " + where() + ": No such file or directory"));
    return current;
  }
  Status set_mode(mm::ThpMode m) override {
    if (fail_write) return fail(Error("cannot open " + where() + " for writing: Permission denied", Exit::not_permitted));
    writes.push_back(m);
    current = m;
    return {};
  }
  std::string where() const override { return "/fake/sys/kernel/mm/transparent_hugepage/enabled"; }
  mm::ThpMode current = mm::ThpMode::madvise;
  std::vector<mm::ThpMode> writes;
  bool fail_read = false;
  bool fail_write = false;
};

// The seams a test that assembles its own Host (own process table, criu runner, ...) takes as
// they are: process control, privileges (root), clock, runtimes, GPU devices, a run directory.
struct CommonSeams {
  TempDir run_tmp;
  FakeControl control;
  FakePrivileges privileges;
  FakeTime time;
  FakeRuntimeFactory runtimes;
  NoGpuDevices gpu_devices;
  FakeThp thp;
  RunDir run{run_tmp.path() / "run", ::geteuid()};

  Host host(proc::ProcessTable& procs, criu::Runner& criu, Progress& progress, cuda::GpuInventory& gpus,
            cuda::BackendFactory& backends, freezer::Freezer& freezer, const criu::HandlerProbe& handlers,
            const AmdHost* amd = nullptr, hooks::GpuPresence* devices = nullptr) {
    return Host{.procs = procs,
                .control = control,
                .privileges = privileges,
                .time = time,
                .criu = criu,
                .progress = progress,
                .gpus = gpus,
                .cuda_backends = backends,
                .freezer = freezer,
                .handlers = handlers,
                .runtimes = runtimes,
                .gpu_devices = devices ? *devices : gpu_devices,
                .run = run,
                .amd = amd,
                .thp = &thp,
                .self_exe = "/bin/true"};  // a guardian that exits at once
  }
};

// Every seam a driver needs, faked, and the Host over them. No CUDA backend and no GPUs unless
// a test sets them; helpers gpucr would exec (guardian, __cuda-call) are /bin/true; journals go
// to a private run directory.
struct FakeHost {
  FakeHost() { seams.control.table = &procs; }
  CommonSeams seams;
  FakeProcessTable procs;
  FakeCriuRunner criu;
  RecordingProgress progress;
  FakeGpuInventory gpus;
  FakeBackendFactory cuda_backends;
  FakeFreezer freezer;
  FakeHandlerProbe handlers;
  FakeControl& control = seams.control;
  FakePrivileges& privileges = seams.privileges;
  FakeThp& thp = seams.thp;
  const RunDir& run = seams.run;
  Host host = seams.host(procs, criu, progress, gpus, cuda_backends, freezer, handlers);
};

}  // namespace gpucr::fakes
