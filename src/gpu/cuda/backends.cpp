#include "gpu/cuda/checkpointer.hpp"

#include "common/self_exec.hpp"
#include "util/strings.hpp"

#include <nlohmann/json.hpp>

namespace gpucr::cuda {

namespace {

std::string map_arg(const std::vector<GpuPair>& map) {
  std::vector<std::string> parts;
  for (const auto& p : map) parts.push_back(p.old_gpu.str() + "=" + p.new_gpu.str());
  return join(parts, ",");
}

std::chrono::milliseconds left(Clock::time_point deadline) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return std::max(ms, std::chrono::milliseconds(1));
}

Error no_answer(Step step, pid_t pid, const Error& why) {
  return Error("CUDA " + std::string(to_string(step)) + " of pid " + std::to_string(pid) + " got no answer: " + why.what)
      .with_exit(Exit::failed);
}

}  // namespace

std::vector<std::string> helper_argv(const std::string& self_exe, Step step, pid_t pid, const CallArgs& args) {
  std::vector<std::string> a = {self_exe, self::kCudaCall, to_string(step), "--pid", std::to_string(pid)};
  if (step == Step::lock) a.insert(a.end(), {"--timeout-ms", std::to_string(args.lock_timeout.count())});
  if (step == Step::restore && !args.map.empty()) a.insert(a.end(), {"--map", map_arg(args.map)});
  return a;
}

Result<Reply> parse_helper_reply(std::string_view out, Step step, pid_t pid) {
  auto lines = split(trim(out), '\n');
  auto j = nlohmann::json::parse(lines.empty() ? std::string() : lines.back(), nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("result")) {
    return fail(Error("CUDA " + std::string(to_string(step)) + " helper for pid " + std::to_string(pid) +
                          " printed no reply: " + std::string(trim(out)).substr(0, 200),
                      Exit::internal));
  }
  Reply r;
  r.code = j.value("result", -1);
  r.error = j.value("error", "");
  if (j.contains("state")) r.state = parse_state(j.value("state", ""));
  r.tid = j.value("tid", 0);
  if (j.value("load_error", false)) {
    return fail(Error(r.error, Exit::missing_dependency)
                    .with_hint("install the NVIDIA driver (>= 570) or cuda-checkpoint and pass --cuda-backend tool"));
  }
  return r;
}

Result<Reply> ApiBackend::call(Step step, pid_t pid, const CallArgs& args, Clock::time_point deadline) {
  // A call must not outlive gpucr: after gpucr died, its guardian decides each process's state.
  Command cmd{.argv = helper_argv(self_, step, pid, args), .die_with_parent = true};
  auto out = run_capture(cmd, left(deadline));
  if (!out) return fail(no_answer(step, pid, out.error()));
  return parse_helper_reply(out->out, step, pid);
}

Result<Reply> ToolBackend::call(Step step, pid_t pid, const CallArgs& args, Clock::time_point deadline) {
  std::vector<std::string> a = {tool_.string()};
  switch (step) {
    case Step::get_state: a.insert(a.end(), {"--get-state", "--pid", std::to_string(pid)}); break;
    case Step::restore_tid: a.insert(a.end(), {"--get-restore-tid", "--pid", std::to_string(pid)}); break;
    default:
      a.insert(a.end(), {"--action", to_string(step), "--pid", std::to_string(pid)});
      if (step == Step::lock) a.insert(a.end(), {"--timeout", std::to_string(args.lock_timeout.count())});
      if (step == Step::restore && !args.map.empty()) a.insert(a.end(), {"--device-map", map_arg(args.map)});
  }
  auto out = run_capture(Command{.argv = a, .die_with_parent = true}, left(deadline));
  if (!out) return fail(no_answer(step, pid, out.error()));
  Reply r;
  if (!out->status.success()) {
    r.code = -1;
    r.error = std::string(trim(out->err.empty() ? out->out : out->err));
    if (r.error.empty()) r.error = "cuda-checkpoint " + out->status.describe();
    return r;
  }
  std::string said(trim(out->out));
  if (step == Step::get_state) {
    for (auto& c : said) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    for (const auto& word : split_ws(said)) {
      if (auto st = parse_state(word)) r.state = st;
    }
    if (!r.state) {
      r.code = -1;
      r.error = "cuda-checkpoint --get-state printed no state: " + said.substr(0, 200);
    }
  } else if (step == Step::restore_tid) {
    r.tid = static_cast<int>(std::strtol(said.c_str(), nullptr, 10));
  }
  return r;
}

}  // namespace gpucr::cuda
