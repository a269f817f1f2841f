// The criu runner seam: execs criu (argv vector, never a shell), keeps its log, and reports
// the exit status and the Error lines of the log. Fake: tests/unit/fakes.hpp (FakeCriuRunner).
#pragma once

#include "criu/action_channel.hpp"
#include "criu/locate.hpp"
#include "util/subprocess.hpp"

#include <chrono>
#include <functional>
#include <map>
#include <optional>

namespace gpucr::criu {

struct Invocation {
  std::vector<std::string> args;             // after the program name, e.g. dump_args(...)
  std::filesystem::path log;                 // where criu's log ends up (work dir + log name)
  std::map<std::string, std::string> env;    // extra environment (action scripts read it)
  std::function<void()> tick;                // called about every 200 ms while criu runs
  // criu's action scripts (the args name gpucr as --action-script): answered by `on_action`
  // through `actions` while criu runs (criu/action_channel.hpp). Null: no action script.
  ActionServer* actions = nullptr;
  ActionServer::Handler on_action;
  // Asked about every 200 ms while criu runs: a reason to stop criu now (its deadline passed;
  // gpucr was asked to stop and criu did not get to its post-dump step in time). criu's process
  // group is then killed with SIGKILL, the only signal that stops a dump at every stage; its
  // tasks resume (docs/FACTS.md §9).
  std::function<std::optional<std::string>()> stop;
};

struct Outcome {
  ExitStatus status;
  std::vector<std::string> error_lines;      // "Error (...)" lines of the log, at most 20
  std::chrono::nanoseconds elapsed{};
  std::optional<std::string> stopped;        // gpucr killed criu, and why
};

class Runner {
 public:
  virtual ~Runner() = default;
  virtual const Binary& binary() const = 0;
  // Runs criu to the end, in its own process group (a Ctrl-C at the terminal reaches gpucr, not
  // criu). `started` gets criu's pid after fork and before exec, so the caller can record it
  // (crash recovery waits for that pid) before criu does anything.
  virtual Result<Outcome> run(const Invocation& inv, const std::function<void(pid_t)>& started) = 0;
};

class ExecRunner : public Runner {
 public:
  explicit ExecRunner(Binary bin) : bin_(std::move(bin)) {}
  const Binary& binary() const override { return bin_; }
  Result<Outcome> run(const Invocation& inv, const std::function<void(pid_t)>& started) override;

 private:
  Binary bin_;
};

// The "Error (file:line): message" lines of a criu log, without the timestamp prefix, leaving
// out the RLIMIT_NOFILE line criu logs on every run where it lacks CAP_SYS_RESOURCE (harmless).
std::vector<std::string> error_lines(std::string_view log, size_t max = 20);

// What gpucr knows about a failure that criu's Error lines don't say, as advice for the user
// (starting with the pid it concerns), or nothing. Known: a task criu could not seize because it
// was in state D under a cgroup freeze (a vfork parent whose child the freeze caught).
std::optional<std::string> explain(const std::vector<std::string>& error_lines);
// The same for a failure whose details are criu's Error lines: the advice goes before its hint.
void explain(Error& e);

}  // namespace gpucr::criu
