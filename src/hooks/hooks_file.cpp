#include "hooks/hooks_file.hpp"
#include "util/json.hpp"

#include <nlohmann/json.hpp>

namespace gpucr::hooks {

using Json = nlohmann::json;

std::vector<HookFile> hook_files(const std::filesystem::path& gpucr_binary, const std::filesystem::path& run_dir) {
  std::vector<HookFile> out;
  for (const char* stage : {"prestart", "poststop"}) {
    // Key order as in oci-hooks(5): ordered_json keeps insertion order.
    nlohmann::ordered_json hook;
    hook["path"] = gpucr_binary.string();
    hook["args"] = nlohmann::ordered_json::array({"gpucr", "hook", stage});
    if (run_dir != "/run/gpucr") hook["env"] = nlohmann::ordered_json::array({"GPUCR_RUN_DIR=" + run_dir.string()});
    hook["timeout"] = kHookTimeoutSeconds;
    nlohmann::ordered_json doc;
    doc["version"] = "1.0.0";
    doc["hook"] = hook;
    doc["when"] = nlohmann::ordered_json::object({{"always", true}});
    doc["stages"] = nlohmann::ordered_json::array({stage});
    out.push_back({std::string("90-gpucr-") + stage + ".json", stage, json_text(doc, 2) + "\n"});
  }
  return out;
}

bool is_gpucr_hook_file(std::string_view content, std::string_view stage) {
  Json j = Json::parse(content, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return false;
  auto hook = j.find("hook");
  auto stages = j.find("stages");
  if (hook == j.end() || !hook->is_object() || stages == j.end()) return false;
  auto args = hook->find("args");
  return args != hook->end() && *args == Json::array({"gpucr", "hook", std::string(stage)}) &&
         *stages == Json::array({std::string(stage)});
}

}  // namespace gpucr::hooks
