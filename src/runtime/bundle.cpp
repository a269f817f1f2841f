#include "runtime/bundle.hpp"

#include "util/file.hpp"

#include <nlohmann/json.hpp>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <algorithm>

namespace gpucr::runtime {

namespace {

using Json = nlohmann::json;

bool digits_after(std::string_view s, std::string_view prefix) {
  if (s.rfind(prefix, 0) != 0 || s.size() == prefix.size()) return false;
  return std::all_of(s.begin() + static_cast<long>(prefix.size()), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::string str(const Json& obj, const char* key) {
  auto it = obj.find(key);
  return it != obj.end() && it->is_string() ? it->get<std::string>() : std::string();
}

void add_devices(const Json& config, BundleGpus& out) {
  auto linux_it = config.find("linux");
  if (linux_it == config.end() || !linux_it->is_object()) return;
  auto devs = linux_it->find("devices");
  if (devs == linux_it->end() || !devs->is_array()) return;
  for (const auto& d : *devs) {
    if (!d.is_object()) continue;
    DeviceNode n;
    n.path = str(d, "path");
    n.kind = gpu_device_kind(n.path);
    std::string type = str(d, "type");
    auto maj = d.find("major"), min = d.find("minor");
    if (n.kind.empty() || (type != "c" && type != "b") || maj == d.end() || min == d.end() ||
        !maj->is_number_unsigned() || !min->is_number_unsigned()) {
      continue;
    }
    n.type = type[0];
    n.major = maj->get<unsigned>();
    n.minor = min->get<unsigned>();
    out.devices.push_back(n);
  }
}

void add_bind_mounted_devices(const Json& config, BundleGpus& out) {
  auto mounts = config.find("mounts");
  if (mounts == config.end() || !mounts->is_array()) return;
  for (const auto& m : *mounts) {
    if (!m.is_object()) continue;
    DeviceNode n;
    n.path = str(m, "destination");
    n.kind = gpu_device_kind(n.path);
    std::string source = str(m, "source");
    struct stat st {};
    if (n.kind.empty() || source.empty() || ::stat(source.c_str(), &st) != 0 ||
        !(S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode))) {
      continue;
    }
    n.type = S_ISCHR(st.st_mode) ? 'c' : 'b';
    n.major = major(st.st_rdev);
    n.minor = minor(st.st_rdev);
    bool dup = std::any_of(out.devices.begin(), out.devices.end(), [&](const DeviceNode& d) { return d.path == n.path; });
    if (!dup) out.devices.push_back(n);
  }
}

void add_env(const Json& config, BundleGpus& out) {
  auto proc = config.find("process");
  if (proc == config.end() || !proc->is_object()) return;
  auto env = proc->find("env");
  if (env == proc->end() || !env->is_array()) return;
  const std::string key = "NVIDIA_VISIBLE_DEVICES=";
  for (const auto& e : *env) {
    if (e.is_string() && e.get<std::string>().rfind(key, 0) == 0) out.nvidia_visible_devices = e.get<std::string>().substr(key.size());
  }
}

void add_cdi(const Json& config, BundleGpus& out) {
  auto notes = config.find("annotations");
  if (notes == config.end() || !notes->is_object()) return;
  for (const auto& [key, value] : notes->items()) {
    if (key.rfind("cdi.k8s.io/", 0) != 0 || !value.is_string()) continue;
    std::string list = value.get<std::string>();
    for (size_t start = 0; start <= list.size();) {
      size_t comma = list.find(',', start);
      std::string name = list.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
      if (!name.empty()) out.cdi_devices.push_back(name);
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
  }
}

}  // namespace

std::string gpu_device_kind(std::string_view p) {
  if (digits_after(p, "/dev/nvidia") || digits_after(p, "/dev/dri/card") || digits_after(p, "/dev/dri/renderD")) {
    return "gpu";
  }
  if (p == "/dev/nvidiactl" || p == "/dev/nvidia-modeset" || p.rfind("/dev/nvidia-uvm", 0) == 0 ||
      p.rfind("/dev/nvidia-caps/", 0) == 0 || p == "/dev/kfd") {
    return "control";
  }
  return "";
}

Result<BundleGpus> parse_bundle_gpus(std::string_view config_json, const std::string& what) {
  Json config = Json::parse(config_json, nullptr, /*allow_exceptions=*/false);
  if (config.is_discarded() || !config.is_object()) {
    return fail(Error(what + " is not a JSON object", Exit::bad_input));
  }
  BundleGpus out;
  add_devices(config, out);
  add_bind_mounted_devices(config, out);
  add_env(config, out);
  add_cdi(config, out);
  return out;
}

Result<BundleGpus> read_bundle_gpus(const std::filesystem::path& bundle) {
  auto path = bundle / "config.json";
  auto text = read_file(path);
  if (!text) return fail(std::move(text).error().with_exit(Exit::bad_input));
  return parse_bundle_gpus(*text, path.string());
}

}  // namespace gpucr::runtime
