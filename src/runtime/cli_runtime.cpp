#include "runtime/cli_runtime.hpp"

#include "common/self_exec.hpp"
#include "util/signals.hpp"
#include "util/strings.hpp"

#include <nlohmann/json.hpp>
#include <sys/stat.h>

#include <cstdlib>

namespace gpucr::runtime {

namespace {

using Json = nlohmann::json;

Result<std::string> string_field(const Json& j, const char* key, bool required, const std::string& what) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) {
    if (!required) return std::string();
    return fail(Error(what + ": field \"" + key + "\" is missing", Exit::bad_input));
  }
  if (!it->is_string()) return fail(Error(what + ": field \"" + key + "\" is not a string", Exit::bad_input));
  return it->get<std::string>();
}

class CliRunning : public Running {
 public:
  explicit CliRunning(Child c) : child_(std::move(c)) {}
  pid_t pid() const override { return child_.pid(); }
  std::optional<ExitStatus> wait_until(Clock::time_point deadline) override { return child_.wait_until(deadline); }
  std::optional<ExitStatus> wait_until(Clock::time_point deadline, int wake_fd) override {
    return child_.wait_until(deadline, wake_fd);
  }
  void kill(int sig) override { child_.kill(sig); }
  void kill_group(int sig) override { child_.kill_group(sig); }

 private:
  Child child_;
};

}  // namespace

Result<ContainerState> parse_state_json(std::string_view text, const std::string& id) {
  const std::string what = "the runtime's state of container " + id;
  Json j = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return fail(Error(what + " is not a JSON object", Exit::bad_input));
  ContainerState s;
  s.oci_version = GPUCR_TRY(string_field(j, "ociVersion", false, what));
  s.id = GPUCR_TRY(string_field(j, "id", true, what));
  s.status = GPUCR_TRY(string_field(j, "status", true, what));
  s.bundle = GPUCR_TRY(string_field(j, "bundle", true, what));
  s.rootfs = GPUCR_TRY(string_field(j, "rootfs", false, what));
  if (auto it = j.find("pid"); it != j.end() && !it->is_null()) {
    if (!it->is_number_integer() || it->get<long long>() < 0 || it->get<long long>() > 0x400000) {
      return fail(Error(what + ": field \"pid\" is not a pid", Exit::bad_input));
    }
    s.pid = static_cast<pid_t>(it->get<long long>());
  }
  if (auto it = j.find("annotations"); it != j.end() && !it->is_null()) {
    if (!it->is_object()) return fail(Error(what + ": \"annotations\" is not an object", Exit::bad_input));
    for (const auto& [k, v] : it->items()) {
      if (!v.is_string()) return fail(Error(what + ": annotation " + k + " is not a string", Exit::bad_input));
      s.annotations[k] = v.get<std::string>();
    }
  }
  return s;
}

ExitStatus wait_forwarding_signals(Running& r) {
  for (;;) {
    if (auto st = r.wait_until(Clock::now() + std::chrono::milliseconds(100))) return *st;
    if (int sig = signals::cancel_signal()) {
      r.kill(sig);
      signals::clear();
    }
  }
}

std::string CliRuntime::name() const { return path_.filename().string(); }

Result<ContainerState> CliRuntime::state(const std::string& id) {
  Command cmd{.argv = {path_.string()}};
  cmd.argv.insert(cmd.argv.end(), globals_.begin(), globals_.end());
  cmd.argv.insert(cmd.argv.end(), {"state", id});
  auto out = GPUCR_TRY(run_capture(cmd, std::chrono::seconds(30)));
  if (!out.status.success()) {
    std::string msg(trim(out.err));
    Exit code = msg.find("does not exist") != std::string::npos ? Exit::bad_input : Exit::failed;
    return fail(Error("container " + id + ": " + name() + " state failed (" + out.status.describe() + ")", code)
                    .with_detail(msg.substr(0, 500))
                    .with_hint("check the id and the runtime's state directory: " + cmd.display()));
  }
  auto s = GPUCR_TRY(parse_state_json(out.out, id));
  if (s.id != id) return fail(Error(name() + " state " + id + " described container " + s.id, Exit::internal));
  return s;
}

Result<std::unique_ptr<Running>> CliRuntime::start(const std::vector<std::string>& args, const Env& env,
                                                   const Started& started) {
  // A tracked command (checkpoint, restore) runs in a process group of its own, with the criu it
  // starts: a terminal's Ctrl-C reaches gpucr, which decides, and a deadline can stop both.
  Command cmd{.argv = {path_.string()},
              .env = env,
              .stdin_null = false,
              .new_pgroup = static_cast<bool>(started),
              .hold = static_cast<bool>(started)};
  cmd.argv.insert(cmd.argv.end(), globals_.begin(), globals_.end());
  cmd.argv.insert(cmd.argv.end(), args.begin(), args.end());
  auto child = GPUCR_TRY(spawn(cmd));
  if (started) {
    started(child.pid());
    child.release();
  }
  return std::unique_ptr<Running>(new CliRunning(std::move(child)));
}

Status run_to_end(Runtime& rt, const std::vector<std::string>& args, std::chrono::milliseconds timeout) {
  auto running = GPUCR_TRY(rt.start(args));
  auto st = running->wait_until(Clock::now() + timeout);
  if (st && st->success()) return {};
  std::string what = rt.name() + " " + (args.empty() ? std::string() : args.front());
  if (!st) return fail(Error(what + " did not finish within " + format_duration(timeout)));
  return fail(Error(what + " failed (" + st->describe() + ")"));
}

bool is_self(const fs::path& p) {
  struct stat a {}, b {};
  return ::stat(p.c_str(), &a) == 0 && ::stat(self::kExe, &b) == 0 && a.st_dev == b.st_dev &&
         a.st_ino == b.st_ino;
}

static Error refuse_self(const fs::path& p) {
  return Error("the runtime " + p.string() + " is gpucr itself", Exit::usage)
      .with_hint("name the real runtime (runc or crun), not gpucr or its gpucr-runc/gpucr-crun wrappers");
}

Result<fs::path> resolve_runtime(const std::string& name_or_path) {
  fs::path p = find_program(name_or_path);
  if (p.empty()) {
    return fail(Error("runtime " + name_or_path + " not found or not executable", Exit::missing_dependency)
                    .with_hint("install runc (or crun), or pass --runtime PATH"));
  }
  if (is_self(p)) return fail(refuse_self(p));
  return p;
}

Result<fs::path> resolve_wrapped_runtime(const std::string& name) {
  if (const char* env = std::getenv("GPUCR_RUNTIME"); env && *env) {
    auto p = resolve_runtime(env);
    if (!p) return fail(std::move(p).error().context("GPUCR_RUNTIME=" + std::string(env)));
    return p;
  }
  const char* path = std::getenv("PATH");
  for (const auto& dir : split(path ? path : "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", ':')) {
    if (dir.empty()) continue;
    fs::path p = fs::path(dir) / name;
    std::error_code ec;
    if (::access(p.c_str(), X_OK) == 0 && fs::is_regular_file(p, ec) && !is_self(p)) return p;
  }
  return fail(Error("gpucr-" + name + ": the real runtime " + name + " is not in PATH", Exit::missing_dependency)
                  .with_hint("install " + name + ", or set GPUCR_RUNTIME to its path"));
}

}  // namespace gpucr::runtime
