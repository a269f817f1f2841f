#include "core/requirements.hpp"

#include "criu/inventory.hpp"
#include "util/file.hpp"

#include <sys/stat.h>

#include <map>

namespace gpucr {

namespace {

void gpus_and_processes(const pb::Manifest& m, pb::Requirements& r) {
  std::map<std::string, pb::GpuNeed*> by_uuid;
  r.clear_gpus();
  r.set_cuda_processes(m.cuda_processes_size());
  std::uint64_t device = 0;
  for (const auto& p : m.cuda_processes()) {
    device += p.device_memory_bytes();
    for (const auto& u : p.gpu_uuids()) {
      auto*& need = by_uuid[u];
      if (!need) {
        need = r.add_gpus();
        need->set_uuid(u);
        for (const auto& g : m.host_gpus()) {
          if (g.uuid() == u) {
            need->set_model(g.name());
            need->set_memory_bytes(g.memory_bytes());
          }
        }
      }
      need->set_used_bytes(need->used_bytes() + p.device_memory_bytes());
    }
  }
  r.set_device_memory_bytes(device);
}

}  // namespace

void record_requirements(pb::Manifest& m, const std::filesystem::path& image_dir) {
  pb::Requirements r;
  gpus_and_processes(m, r);
  r.set_criu_version(m.criu_version());
  std::uint64_t pages = 0;
  for (const auto& name : list_dir(image_dir).value_or(std::vector<std::string>{})) {
    if (name.rfind("pages-", 0) != 0) continue;
    struct stat st {};
    if (::lstat((image_dir / name).c_str(), &st) == 0 && S_ISREG(st.st_mode)) pages += static_cast<std::uint64_t>(st.st_size);
  }
  r.set_host_memory_bytes(pages);
  if (auto inv = criu::read_inventory(image_dir)) {
    r.set_plugins_field(criu::to_string(inv->plugins_field()));
    for (const auto& p : inv->plugins()) r.add_plugins(p);
  }
  *m.mutable_requirements() = std::move(r);
}

pb::Requirements requirements_of(const pb::Manifest& m) {
  if (m.has_requirements()) return m.requirements();
  pb::Requirements r;
  gpus_and_processes(m, r);
  r.set_criu_version(m.criu_version());
  return r;
}

}  // namespace gpucr
