// `gpucr __cuda-call STEP --pid P [--timeout-ms N] [--map OLD=NEW,...]` and `gpucr __cuda-call
// gpus|probe`: one driver call in a fresh process, its reply as one JSON line on stdout.
#include "gpu/cuda/checkpointer.hpp"
#include "gpu/cuda/gpu_info.hpp"
#include "util/strings.hpp"
#include "util/json.hpp"

#include <nlohmann/json.hpp>

#include <cstdio>

namespace gpucr::cuda {

namespace {

int print(const nlohmann::json& j) {
  std::printf("%s\n", json_text(j).c_str());
  std::fflush(stdout);
  return 0;
}

Result<std::vector<GpuPair>> parse_map(const std::string& text) {
  std::vector<GpuPair> out;
  if (text.empty()) return out;
  for (const auto& item : split(text, ',')) {
    auto eq = item.find('=');
    if (eq == std::string::npos) return fail(Error("bad map entry '" + item + "'", Exit::usage));
    out.push_back({GPUCR_TRY(parse_uuid(item.substr(0, eq))), GPUCR_TRY(parse_uuid(item.substr(eq + 1)))});
  }
  return out;
}

}  // namespace

int run_helper(const std::string& op, pid_t pid, unsigned timeout_ms, const std::string& map) {
  if (op == "gpus") {
    auto gpus = query_gpus_nvml();
    if (!gpus) return print({{"result", -1}, {"error", gpus.error().what}, {"nvml", false}});
    auto arr = nlohmann::json::array();
    for (const auto& g : *gpus) arr.push_back(to_json(g));
    return print({{"result", 0}, {"nvml", true}, {"gpus", arr}});
  }
  auto api = DriverApi::load();
  if (op == "probe") {
    if (!api) return print({{"result", -1}, {"api", false}, {"error", api.error().what}});
    int version = 0;
    api->driver_version(version);
    return print({{"result", 0}, {"api", true}, {"driver_version", version}});
  }
  if (!api) return print({{"result", -1}, {"error", api.error().what}, {"load_error", true}});
  nlohmann::json j{{"op", op}, {"pid", pid}};
  int r = -1;
  if (op == to_string(Step::get_state)) {
    State st = State::failed;
    r = api->get_state(pid, st);
    if (r == cu::success) j["state"] = to_string(st);
  } else if (op == to_string(Step::restore_tid)) {
    int tid = 0;
    r = api->restore_thread_id(pid, tid);
    j["tid"] = tid;
  } else if (op == to_string(Step::lock)) {
    r = api->lock(pid, timeout_ms);
  } else if (op == to_string(Step::checkpoint)) {
    r = api->checkpoint(pid);
  } else if (op == to_string(Step::restore)) {
    auto pairs = parse_map(map);
    if (!pairs) return print({{"result", -1}, {"error", pairs.error().what}});
    api->init();  // the API requires cuInit before restore unless persistence mode is on
    r = api->restore(pid, *pairs);
  } else if (op == to_string(Step::unlock)) {
    r = api->unlock(pid);
  } else {
    return print({{"result", -1}, {"error", "unknown step " + op}});
  }
  j["result"] = r;
  if (r != cu::success) j["error"] = api->error_name(r);
  return print(j);
}

}  // namespace gpucr::cuda
