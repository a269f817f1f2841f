// recovery/recover: bringing CUDA processes back to a state (bring_to_state, recover) with a
// scripted fake Checkpointer, a fake process table and a fake runtime.
#include "container_fakes.hpp"
#include "fake_cuda.hpp"
#include "fake_freezer.hpp"
#include "fakes.hpp"
#include "recovery/recover.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <mutex>
#include <set>

using namespace gpucr;
using namespace gpucr::recovery;
using cuda::State;
using cuda::Step;

namespace {

// The driver's state machine per pid, with scripted failures and calls that never answer.
class ScriptedCheckpointer : public cuda::Checkpointer {
 public:
  std::map<pid_t, State> states;
  std::map<std::pair<pid_t, Step>, cuda::Reply> replies;  // scripted answers instead of acting
  std::set<std::pair<pid_t, Step>> silent;                // calls that get no answer
  std::vector<std::string> calls;                         // "restore 7"
  std::vector<cuda::GpuPair> restore_map;

  std::string describe() const override { return "scripted"; }
  std::string kind() const override { return "api"; }
  Result<cuda::Reply> call(Step step, pid_t pid, const cuda::CallArgs& args, Clock::time_point) override {
    std::lock_guard lock(mu_);
    calls.push_back(std::string(cuda::to_string(step)) + " " + std::to_string(pid));
    if (silent.count({pid, step})) return fail(Error("no answer within 30s"));
    if (auto it = replies.find({pid, step}); it != replies.end()) return it->second;
    cuda::Reply r;
    if (!states.count(pid)) {
      r.code = cuda::cu::not_initialized;
      r.error = "CUDA_ERROR_NOT_INITIALIZED";
      return r;
    }
    State& s = states[pid];
    auto move = [&](State from, State to) {
      if (s != from) {
        r.code = cuda::cu::illegal_state;
        r.error = "CUDA_ERROR_ILLEGAL_STATE";
      } else {
        s = to;
      }
    };
    switch (step) {
      case Step::get_state: r.state = s; break;
      case Step::lock: move(State::running, State::locked); break;
      case Step::checkpoint: move(State::locked, State::checkpointed); break;
      case Step::restore:
        restore_map = args.map;
        move(State::checkpointed, State::locked);
        break;
      case Step::unlock: move(State::locked, State::running); break;
      case Step::restore_tid: r.tid = pid + 1; break;
    }
    return r;
  }

 private:
  std::mutex mu_;
};

cuda::Reply failed(int code, const char* name) {
  cuda::Reply r;
  r.code = code;
  r.error = name;
  return r;
}

const char* kA = "GPU-fa4e0000-0000-4000-8000-000000000000";
const char* kB = "GPU-fa4e0001-0000-4000-8000-000000000001";

}  // namespace

TEST(BringToState, CheckpointedProcessIsRestoredAndUnlocked) {
  ScriptedCheckpointer b;
  b.states[7] = State::checkpointed;
  auto r = bring_to_state(b, 7, State::running, {}, 0);
  ASSERT_TRUE(r) << r.error().what;
  EXPECT_EQ(*r, "pid 7: checkpointed -> locked -> running");
  EXPECT_EQ(b.calls, (std::vector<std::string>{"get-state 7", "restore 7", "unlock 7"}));
  EXPECT_EQ(b.states[7], State::running);
}

TEST(BringToState, ProcessThatWasLockedGoesBackToLocked) {
  ScriptedCheckpointer b;
  b.states[7] = State::checkpointed;
  auto r = bring_to_state(b, 7, State::locked, {}, 0);
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, "pid 7: checkpointed -> locked");
  EXPECT_EQ(b.states[7], State::locked);
}

TEST(BringToState, NothingToDoWhenAlreadyThere) {
  ScriptedCheckpointer b;
  b.states[7] = State::running;
  auto r = bring_to_state(b, 7, State::running, {}, 0);
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, "pid 7: running");
  EXPECT_EQ(b.calls, std::vector<std::string>{"get-state 7"});
}

TEST(BringToState, RestoreUsesTheDeviceMap) {
  ScriptedCheckpointer b;
  b.states[7] = State::checkpointed;
  std::vector<cuda::GpuPair> map = {{*cuda::parse_uuid(kA), *cuda::parse_uuid(kB)}};
  ASSERT_TRUE(bring_to_state(b, 7, State::running, map, 0));
  ASSERT_EQ(b.restore_map.size(), 1u);
  EXPECT_EQ(b.restore_map[0].new_gpu.str(), kB);
}

TEST(BringToState, FailedCallNamesTheStepAndPid) {
  ScriptedCheckpointer b;
  b.states[7] = State::checkpointed;
  b.replies[{7, Step::restore}] = failed(100, "CUDA_ERROR_NO_DEVICE");
  auto r = bring_to_state(b, 7, State::running, {}, 0);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().what, "CUDA restore of pid 7 failed: CUDA_ERROR_NO_DEVICE");
}

TEST(BringToState, NoAnswerIsAnError) {
  ScriptedCheckpointer b;
  b.states[7] = State::locked;
  b.silent.insert({7, Step::unlock});
  auto r = bring_to_state(b, 7, State::running, {}, 0);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().what, "no answer within 30s");
}

TEST(BringToState, FailedOrRunningProcessCantReachAnEarlierState) {
  ScriptedCheckpointer b;
  b.states[7] = State::failed;
  auto r = bring_to_state(b, 7, State::running, {}, 0);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().exit, Exit::rollback_incomplete);
  EXPECT_EQ(r.error().what, "pid 7 is failed and can't be brought back to running");
  b.states[8] = State::running;  // gpucr never locks while recovering
  r = bring_to_state(b, 8, State::locked, {}, 0);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().what, "pid 8 is running and can't be brought back to locked");
}

namespace {

// Processes 300.. are alive with start time 1000 + pid; nothing else exists.
class AliveTable : public proc::ProcessTable {
 public:
  std::set<pid_t> alive_pids;
  Result<proc::ProcInfo> info(pid_t pid) const override {
    if (!alive_pids.count(pid)) return fail("no such process");
    proc::ProcInfo i;
    i.pid = pid;
    i.state = 'S';
    i.start_time = 1000 + static_cast<std::uint64_t>(pid);
    return i;
  }
  Result<std::vector<pid_t>> children(pid_t) const override { return std::vector<pid_t>{}; }
  Result<std::vector<pid_t>> all_pids() const override { return std::vector<pid_t>(alive_pids.begin(), alive_pids.end()); }
  Result<std::vector<proc::FdEntry>> fds(pid_t) const override { return std::vector<proc::FdEntry>{}; }
  Result<std::vector<std::string>> mapped_files(pid_t) const override { return std::vector<std::string>{}; }
  Result<std::string> cgroup(pid_t) const override { return std::string(); }
  Result<std::string> pid_namespace(pid_t) const override { return std::string(); }
};

// A runtime whose `state` answers come from a test's function.
class ScriptedRuntime : public ctrtest::FakeRuntime {
 public:
  std::function<std::optional<pid_t>(const std::vector<std::string>& globals)> init;
  Result<runtime::ContainerState> state(const std::string& id) override {
    auto pid = init ? init(globals_seen) : std::nullopt;
    if (!pid) return fail(Error("container " + id + " does not exist", Exit::bad_input));
    return runtime::ContainerState{.id = id, .status = "running", .pid = *pid};
  }
  std::vector<std::string> globals_seen;
};

// Forwards the globals a runtime was opened with to the scripted runtime.
class ScriptedRuntimes : public runtime::RuntimeFactory {
 public:
  explicit ScriptedRuntimes(ScriptedRuntime& rt) : rt_(rt) {}
  std::unique_ptr<runtime::Runtime> open(const fs::path&, const std::vector<std::string>& globals) override {
    rt_.globals_seen = globals;
    return std::make_unique<fakes::ForwardingRuntime>(&rt_);
  }

 private:
  ScriptedRuntime& rt_;
};

class Recover : public ::testing::Test {
 protected:
  static fs::path make_tmp() {
    char tmpl[] = "/tmp/gpucr-recover-test-XXXXXX";
    return ::mkdtemp(tmpl);
  }
  void SetUp() override { ASSERT_TRUE(run_.ensure("ops")); }
  void TearDown() override { fs::remove_all(dir_); }
  std::vector<fs::path> stale_journals(const proc::ProcessTable& t) {
    ScriptedCheckpointer none;
    return scan_journals(deps(none, &t)).stale;
  }
  // A checkpoint journal whose owner (pid 1) and guardian (pid 2) are gone.
  fs::path write_journal(std::vector<JournalProcess> procs) {
    JournalData d;
    d.id = "checkpoint-1-x";
    d.op = "checkpoint";
    d.owner = {1, 1001};
    d.guardian = proc::ProcessId{2, 1002};
    d.phase = "gpu checkpoint";
    d.backend = "api";
    d.processes = std::move(procs);
    fs::path p = run_.ops() / "checkpoint-1-x.json";
    EXPECT_TRUE(write_file_atomic(p, to_json(d).dump(), 0600));
    return p;
  }
  Seams deps(ScriptedCheckpointer& b, const proc::ProcessTable* table = nullptr) {
    backends_.create = [&b]() -> std::unique_ptr<cuda::Checkpointer> {
      // A thin forwarder, so the test keeps its scripted backend.
      struct Fwd : cuda::Checkpointer {
        ScriptedCheckpointer& to;
        explicit Fwd(ScriptedCheckpointer& t) : to(t) {}
        std::string describe() const override { return to.describe(); }
        std::string kind() const override { return to.kind(); }
        Result<cuda::Reply> call(Step s, pid_t p, const cuda::CallArgs& a, Clock::time_point d) override {
          return to.call(s, p, a, d);
        }
      };
      return std::unique_ptr<cuda::Checkpointer>(new Fwd(b));
    };
    Seams s{table ? *table : table_, control_, backends_, freezer_, runtimes_, run_, time_, "/bin/true"};
    s.runtime = "/fake/runc";  // gpucr's configuration: recovery never runs a journal's path
    return s;
  }
  fs::path dir_ = make_tmp();
  gpucr::RunDir run_{dir_, ::geteuid()};
  AliveTable table_;
  fakes::FakeBackendFactory backends_;
  fakes::FakeFreezer freezer_;
  ScriptedRuntime rt_;
  ScriptedRuntimes runtimes_{rt_};
  fakes::FakeTime time_;
  fakes::FakeControl control_;
};

}  // namespace

TEST_F(Recover, BringsEveryLiveProcessToItsTargetAndRemovesTheJournal) {
  table_.alive_pids = {300, 301};
  ScriptedCheckpointer b;
  b.states = {{300, State::checkpointed}, {301, State::locked}};
  auto path = write_journal({{{300, 1300}, {300}, State::running, 0},
                             {{301, 1301}, {301}, State::running, 0},
                             {{302, 1302}, {302}, State::running, 0},     // gone
                             {{300, 999}, {300}, State::running, 0}});   // pid reused: not ours
  EXPECT_EQ(stale_journals(table_), std::vector<fs::path>{path});
  auto d = deps(b);
  auto rep = recover(path, d);
  ASSERT_TRUE(rep.status) << rep.status.error().what;
  EXPECT_EQ(b.states[300], State::running);
  EXPECT_EQ(b.states[301], State::running);
  EXPECT_FALSE(fs::exists(path));
  auto has = [&](const std::string& l) { return std::find(rep.lines.begin(), rep.lines.end(), l) != rep.lines.end(); };
  EXPECT_TRUE(has("recovering checkpoint checkpoint-1-x (phase: gpu checkpoint)"));
  EXPECT_TRUE(has("pid 300: checkpointed -> locked -> running"));
  EXPECT_TRUE(has("pid 301: locked -> running"));
  EXPECT_TRUE(has("pid 302: gone, nothing to do"));
  EXPECT_TRUE(has("recovered: every process and cgroup is back in its intended state"));
  // The live process is asked twice (a second look after a pause); the reused pid never.
  EXPECT_EQ(std::count(b.calls.begin(), b.calls.end(), "get-state 300"), 2);
  EXPECT_EQ(std::count(b.calls.begin(), b.calls.end(), "restore 300"), 1);
}

// A checkpoint journal of gpucr pid 1 (gone) that holds the huge-page window, which the run
// directory records as opened from `madvise` and the host shows as `always`.
class RecoverThp : public Recover {
 protected:
  fs::path write_thp_journal() {
    EXPECT_TRUE(run_.ensure("thp"));
    EXPECT_TRUE(write_file_atomic(run_.thp() / "original", "madvise\n"));
    EXPECT_TRUE(write_file_atomic(run_.thp() / "checkpoint-1-x.holder", "pid=1 start=1001\n"));
    thp_.current = mm::ThpMode::always;
    JournalData d;
    d.id = "checkpoint-1-x";
    d.op = "checkpoint";
    d.owner = {1, 1001};
    d.phase = "criu dump";
    d.thp_window = "madvise";
    fs::path path = run_.ops() / "checkpoint-1-x.json";
    EXPECT_TRUE(write_file_atomic(path, to_json(d).dump(), 0600));
    return path;
  }
  RecoverReport recover_it(const fs::path& journal) {
    ScriptedCheckpointer b;
    auto seams = deps(b);
    seams.thp = &thp_;
    return recover(journal, seams);
  }
  fakes::FakeThp thp_;
};

TEST_F(RecoverThp, AHeldThpWindowIsClosedForTheDeadOperation) {
  fs::path path = write_thp_journal();
  auto rep = recover_it(path);
  ASSERT_TRUE(rep.status) << rep.status.error().what;
  EXPECT_EQ(thp_.current, mm::ThpMode::madvise);
  EXPECT_FALSE(fs::exists(run_.thp() / "original"));
  EXPECT_FALSE(fs::exists(run_.thp() / "checkpoint-1-x.holder"));
  EXPECT_NE(std::find(rep.lines.begin(), rep.lines.end(),
                      "closed the THP window: the transparent huge page mode is madvise again"),
            rep.lines.end());
  EXPECT_FALSE(fs::exists(path));
}

TEST_F(RecoverThp, AThpWindowAnotherLiveOperationHoldsStaysOpen) {
  fs::path path = write_thp_journal();
  ASSERT_TRUE(write_file_atomic(run_.thp() / "restore-77-y.holder", "pid=77 start=1077\n"));
  table_.alive_pids = {77};
  ASSERT_TRUE(recover_it(path).status);
  EXPECT_EQ(thp_.current, mm::ThpMode::always);
  EXPECT_TRUE(thp_.writes.empty());
  EXPECT_TRUE(fs::exists(run_.thp() / "original"));
}

TEST_F(Recover, IncompleteRecoveryKeepsTheJournal) {
  table_.alive_pids = {300};
  ScriptedCheckpointer b;
  b.states = {{300, State::checkpointed}};
  b.replies[{300, Step::restore}] = failed(999, "CUDA_ERROR_UNKNOWN");
  auto path = write_journal({{{300, 1300}, {300}, State::running, 0}});
  auto d = deps(b);
  auto rep = recover(path, d);
  ASSERT_FALSE(rep.status);
  EXPECT_EQ(rep.status.error().exit, Exit::rollback_incomplete);
  EXPECT_EQ(rep.status.error().details, std::vector<std::string>{"CUDA restore of pid 300 failed: CUDA_ERROR_UNKNOWN"});
  EXPECT_TRUE(fs::exists(path));
}

TEST_F(Recover, JournalOfALiveOwnerOrGuardianIsNotStale) {
  auto path = write_journal({});
  table_.alive_pids = {1};
  EXPECT_TRUE(stale_journals(table_).empty());
  table_.alive_pids = {2};
  EXPECT_TRUE(stale_journals(table_).empty());
  table_.alive_pids = {};
  EXPECT_EQ(stale_journals(table_), std::vector<fs::path>{path});
}

TEST_F(Recover, ContainerRestoreFindsItsProcessesThroughTheRuntimeOnceTheContainerRuns) {
  ctrtest::FakeProcs procs;
  procs.add(4242, 1, "runc");                          // the runtime, still restoring
  procs.add(900, 1, "sh", {900, 1}, "pid:[88]");       // the restored container
  procs.add(901, 900, "app", {901, 7}, "pid:[88]");
  procs.add(777, 1, "other", {777, 7}, "pid:[99]");    // pid 7 of another container
  JournalData d;
  d.id = "restore-1-x";
  d.op = "restore";
  d.owner = {1, 1001};
  d.phase = "runtime restore";
  d.criu = proc::ProcessId{4242, 1000 + 4242};
  d.container = JournalContainer{"c1", "/usr/sbin/runc", {"--root", "/r"}};
  d.processes = {{{0, 0}, {501, 7}, State::running, 0}};
  fs::path path = run_.ops() / "restore-1-x.json";
  ASSERT_TRUE(write_file_atomic(path, to_json(d).dump(), 0600));
  ScriptedCheckpointer b;
  b.states = {{901, State::checkpointed}};
  auto deps_ = deps(b, &procs);
  int asked = 0;
  rt_.init = [&](const std::vector<std::string>& globals) -> std::optional<pid_t> {
    EXPECT_EQ(globals, (std::vector<std::string>{"--root", "/r"}));
    return ++asked < 3 ? std::nullopt : std::optional<pid_t>(900);
  };
  auto rep = recover(path, deps_);
  ASSERT_TRUE(rep.status) << rep.status.error().what;
  EXPECT_EQ(asked, 3);
  EXPECT_EQ(b.states[901], State::running);
  auto has = [&](const std::string& l) { return std::find(rep.lines.begin(), rep.lines.end(), l) != rep.lines.end(); };
  EXPECT_TRUE(has("waiting for the runtime (pid 4242) to restore container c1"));
  EXPECT_TRUE(has("pid 901: checkpointed -> locked -> running"));
  EXPECT_FALSE(fs::exists(path));
}

TEST_F(Recover, ContainerRestoreWhoseRuntimeFailedLeavesNothingToDo) {
  ctrtest::FakeProcs procs;
  JournalData d;
  d.id = "restore-2-x";
  d.op = "restore";
  d.owner = {1, 1001};
  d.criu = proc::ProcessId{4242, 1000 + 4242};  // gone
  d.container = JournalContainer{"c1", "/usr/sbin/runc", {}};
  d.processes = {{{0, 0}, {501, 7}, State::running, 0}};
  fs::path path = run_.ops() / "restore-2-x.json";
  ASSERT_TRUE(write_file_atomic(path, to_json(d).dump(), 0600));
  ScriptedCheckpointer b;
  auto deps_ = deps(b, &procs);
  rt_.init = [](const std::vector<std::string>&) { return std::optional<pid_t>(); };
  auto rep = recover(path, deps_);
  ASSERT_TRUE(rep.status) << rep.status.error().what;
  EXPECT_TRUE(b.calls.empty());
  EXPECT_FALSE(fs::exists(path));
}
