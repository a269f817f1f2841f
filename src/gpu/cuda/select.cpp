#include "gpu/cuda/select.hpp"

#include "common/self_exec.hpp"
#include "util/strings.hpp"

#include <nlohmann/json.hpp>

namespace gpucr::cuda {

Result<BackendChoice> parse_backend_choice(const std::string& s) {
  if (s == "auto") return BackendChoice::automatic;
  if (s == "api") return BackendChoice::api;
  if (s == "tool") return BackendChoice::tool;
  return fail(Error("invalid --cuda-backend '" + s + "': use api, tool or auto", Exit::usage));
}

Status RealBackendFactory::probe_api() {
  auto out = run_capture(Command{.argv = {self_, self::kCudaCall, "probe"}}, std::chrono::seconds(30));
  if (!out) return fail(std::move(out).error().context("probing libcuda.so.1"));
  auto lines = split(trim(out->out), '\n');
  auto j = nlohmann::json::parse(lines.empty() ? std::string() : lines.back(), nullptr, false);
  if (j.is_discarded()) return fail(Error("the libcuda probe printed nothing usable", Exit::internal));
  if (!j.value("api", false)) return fail(Error(j.value("error", "libcuda.so.1 is unusable"), Exit::missing_dependency));
  return {};
}

static Result<std::filesystem::path> find_tool(const std::optional<std::filesystem::path>& tool) {
  std::filesystem::path p = find_program(tool ? tool->string() : "cuda-checkpoint");
  if (p.empty()) {
    return fail(Error(tool ? "--cuda-checkpoint " + tool->string() + " is not an executable file"
                           : std::string("cuda-checkpoint is not in PATH"),
                      Exit::missing_dependency));
  }
  return p;
}

Result<std::unique_ptr<Checkpointer>> RealBackendFactory::make(BackendChoice choice,
                                                               const std::optional<std::filesystem::path>& tool) {
  const std::string install =
      "install the NVIDIA driver >= 570 (its libcuda.so.1 exports the checkpoint API) or NVIDIA's "
      "cuda-checkpoint tool (https://github.com/NVIDIA/cuda-checkpoint) and pass --cuda-checkpoint PATH";
  if (choice == BackendChoice::api || (choice == BackendChoice::automatic && !tool)) {
    auto api = probe_api();
    if (api) return std::unique_ptr<Checkpointer>(new ApiBackend(self_));
    if (choice == BackendChoice::api) return fail(std::move(api).error().with_hint(install));
    auto t = find_tool(tool);
    if (!t) {
      return fail(Error("no CUDA checkpoint backend: " + api.error().what + ", and " + t.error().what,
                        Exit::missing_dependency)
                      .with_hint(install));
    }
    return std::unique_ptr<Checkpointer>(new ToolBackend(*t));
  }
  auto t = find_tool(tool);
  if (!t) return fail(std::move(t).error().with_hint(install));
  return std::unique_ptr<Checkpointer>(new ToolBackend(*t));
}

}  // namespace gpucr::cuda
