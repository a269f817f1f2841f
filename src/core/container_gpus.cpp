#include "core/container_gpus.hpp"
#include "util/json.hpp"

#include "runtime/paths.hpp"
#include "util/strings.hpp"

#include <nlohmann/json.hpp>

#include <chrono>

namespace gpucr {

namespace {

using Json = nlohmann::json;

constexpr unsigned kNvidiaMajor = 195;

Json device_json(const runtime::DeviceNode& d) {
  return Json{{"path", d.path}, {"kind", d.kind}, {"type", std::string(1, d.type)}, {"major", d.major}, {"minor", d.minor}};
}

Result<runtime::DeviceNode> device_from_json(const Json& j, const std::string& what) {
  auto text = [&](const char* k) { auto it = j.find(k); return it != j.end() && it->is_string() ? it->get<std::string>() : std::string(); };
  auto number = [&](const char* k) -> std::optional<unsigned> {
    auto it = j.find(k);
    if (it == j.end() || !it->is_number_unsigned() || it->get<unsigned long long>() > 0xffffffffULL) return std::nullopt;
    return it->get<unsigned>();
  };
  runtime::DeviceNode d;
  d.path = text("path");
  d.kind = text("kind");
  std::string type = text("type");
  auto major = j.is_object() ? number("major") : std::nullopt;
  auto minor = j.is_object() ? number("minor") : std::nullopt;
  if (!j.is_object() || d.path.empty() || (type != "c" && type != "b") || !major || !minor) {
    return fail(Error(what + ": a device entry is malformed", Exit::bad_input));
  }
  d.type = type[0];
  d.major = *major;
  d.minor = *minor;
  return d;
}

std::string describe(const pb::GpuDevice& d) {
  std::string s = d.uuid().empty() ? "device " + d.type() + " " + std::to_string(d.major()) + ":" + std::to_string(d.minor())
                                 : "GPU " + d.uuid();
  if (!d.model().empty()) s += " (" + d.model() + ")";
  return s + ", " + d.path() + " in the container";
}

}  // namespace

Status write_devices_record(const RunDir& run, const std::string& id, const fs::path& bundle,
                            const runtime::BundleGpus& gpus) {
  GPUCR_TRY(run.ensure("containers"));
  fs::path dir = runtime::container_dir(run, id);
  GPUCR_TRY(make_private_dir(dir, /*must_be_empty=*/false));
  Json devices = Json::array();
  for (const auto& d : gpus.devices) devices.push_back(device_json(d));
  auto now = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch());
  Json doc{{"id", id}, {"bundle", bundle.string()}, {"created_unix_ms", now.count()},
           {"nvidia_visible_devices", gpus.nvidia_visible_devices}, {"devices", devices}};
  return write_file_atomic(dir / kDevicesRecord, json_text(doc, 2) + "\n", 0600);
}

Result<std::optional<runtime::BundleGpus>> read_devices_record(const RunDir& run, const std::string& id) {
  fs::path path = runtime::container_dir(run, id) / kDevicesRecord;
  std::error_code ec;
  if (!fs::exists(path, ec)) return std::optional<runtime::BundleGpus>();
  auto text = GPUCR_TRY(read_file(path));
  Json j = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  auto devs = j.is_object() ? j.find("devices") : j.end();
  if (j.is_discarded() || !j.is_object() || devs == j.end() || !devs->is_array()) {
    return fail(Error(path.string() + " is malformed", Exit::bad_input));
  }
  runtime::BundleGpus out;
  if (auto nv = j.find("nvidia_visible_devices"); nv != j.end() && nv->is_string()) out.nvidia_visible_devices = *nv;
  for (const auto& d : *devs) out.devices.push_back(GPUCR_TRY(device_from_json(d, path.string())));
  return std::optional<runtime::BundleGpus>(out);
}

Status remove_container_records(const RunDir& run, const std::string& id) {
  std::error_code ec;
  fs::remove_all(runtime::container_dir(run, id), ec);
  if (ec) return fail(sys_error("cannot remove " + runtime::container_dir(run, id).string(), ec.value()));
  return {};
}

Result<std::vector<pb::GpuDevice>> container_gpu_devices(const RunDir& run, const std::string& id,
                                                         const fs::path& bundle, hooks::GpuPresence& gpus) {
  auto record = GPUCR_TRY(read_devices_record(run, id));
  runtime::BundleGpus found = record ? *record : GPUCR_TRY(runtime::read_bundle_gpus(bundle));
  std::vector<hooks::HostGpu> host;
  if (!found.devices.empty()) host = GPUCR_TRY(gpus.gpus());
  std::vector<pb::GpuDevice> out;
  for (const auto& d : found.devices) {
    pb::GpuDevice g;
    g.set_path(d.path);
    g.set_kind(d.kind);
    g.set_type(std::string(1, d.type));
    g.set_major(d.major);
    g.set_minor(d.minor);
    for (const auto& h : host) {
      if (d.kind == "gpu" && d.type == 'c' && d.major == kNvidiaMajor && h.minor == static_cast<int>(d.minor)) {
        g.set_uuid(h.uuid);
        g.set_model(h.model);
      }
    }
    out.push_back(std::move(g));
  }
  return out;
}

Status check_gpus_present(const pb::Container& container, hooks::GpuPresence& gpus,
                          const std::map<std::string, std::string>& moved) {
  std::vector<hooks::HostGpu> host;
  bool any_uuid = false;
  for (const auto& d : container.gpu_devices()) any_uuid = any_uuid || !d.uuid().empty();
  if (any_uuid) host = GPUCR_TRY(gpus.gpus());
  std::vector<std::string> missing;
  for (const auto& d : container.gpu_devices()) {
    if (d.kind() != "gpu") continue;  // control devices (nvidiactl, nvidia-uvm) have per-host numbers
    bool present = false;
    if (!d.uuid().empty()) {
      auto m = moved.find(d.uuid());
      const std::string& want = m == moved.end() ? d.uuid() : m->second;
      for (const auto& h : host) present = present || h.uuid == want;
    } else {
      present = gpus.device_exists(d.type().empty() ? 'c' : d.type()[0], d.major(), d.minor());
    }
    if (!present) missing.push_back(describe(d));
  }
  if (missing.empty()) return {};
  Error e("container " + container.id() + " needs " + std::to_string(missing.size()) +
              " GPU(s) that this host does not have", Exit::missing_dependency);
  for (const auto& m : missing) e.details.push_back("missing: " + m);
  for (const auto& h : host) e.details.push_back("this host has: GPU " + h.uuid + " (" + h.model + ")");
  e.hint = "restore on a host with the GPUs the checkpoint was taken on";
  return fail(std::move(e));
}

}  // namespace gpucr
