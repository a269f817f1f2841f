#include "core/inspect.hpp"

#include "core/manifest.hpp"
#include "util/json.hpp"
#include "util/strings.hpp"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>

#include <map>
#include <sstream>

namespace gpucr {

namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

nlohmann::json field_value(const Message& m, const Reflection& r, const FieldDescriptor* f, int i);

// One value of field `f` (element `i` of a repeated field, -1 for a singular one), in protobuf's
// JSON mapping except that string and bytes fields are text (printable_utf8) rather than base64.
nlohmann::json field_value(const Message& m, const Reflection& r, const FieldDescriptor* f, int i) {
  bool rep = i >= 0;
  switch (f->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32: return rep ? r.GetRepeatedInt32(m, f, i) : r.GetInt32(m, f);
    case FieldDescriptor::CPPTYPE_UINT32: return rep ? r.GetRepeatedUInt32(m, f, i) : r.GetUInt32(m, f);
    // 64-bit integers are strings in protobuf's JSON mapping (JavaScript doubles lose precision).
    case FieldDescriptor::CPPTYPE_INT64: return std::to_string(rep ? r.GetRepeatedInt64(m, f, i) : r.GetInt64(m, f));
    case FieldDescriptor::CPPTYPE_UINT64: return std::to_string(rep ? r.GetRepeatedUInt64(m, f, i) : r.GetUInt64(m, f));
    case FieldDescriptor::CPPTYPE_DOUBLE: return rep ? r.GetRepeatedDouble(m, f, i) : r.GetDouble(m, f);
    case FieldDescriptor::CPPTYPE_FLOAT: return rep ? r.GetRepeatedFloat(m, f, i) : r.GetFloat(m, f);
    case FieldDescriptor::CPPTYPE_BOOL: return rep ? r.GetRepeatedBool(m, f, i) : r.GetBool(m, f);
    case FieldDescriptor::CPPTYPE_ENUM: return (rep ? r.GetRepeatedEnum(m, f, i) : r.GetEnum(m, f))->name();
    case FieldDescriptor::CPPTYPE_STRING: return printable_utf8(rep ? r.GetRepeatedString(m, f, i) : r.GetString(m, f));
    case FieldDescriptor::CPPTYPE_MESSAGE: return message_to_json(rep ? r.GetRepeatedMessage(m, f, i) : r.GetMessage(m, f));
  }
  return nullptr;
}

}  // namespace

nlohmann::json message_to_json(const google::protobuf::Message& m) {
  const Reflection& r = *m.GetReflection();
  std::vector<const FieldDescriptor*> fields;
  r.ListFields(m, &fields);  // the fields that are set (proto3: not at their default)
  nlohmann::json out = nlohmann::json::object();
  for (const auto* f : fields) {
    if (f->is_map()) {
      nlohmann::json obj = nlohmann::json::object();
      for (int i = 0; i < r.FieldSize(m, f); ++i) {
        const Message& entry = r.GetRepeatedMessage(m, f, i);
        const auto* d = entry.GetDescriptor();
        nlohmann::json key = field_value(entry, *entry.GetReflection(), d->map_key(), -1);
        obj[key.is_string() ? key.get<std::string>() : key.dump()] =
            field_value(entry, *entry.GetReflection(), d->map_value(), -1);
      }
      out[f->name()] = obj;
    } else if (f->is_repeated()) {
      nlohmann::json arr = nlohmann::json::array();
      for (int i = 0; i < r.FieldSize(m, f); ++i) arr.push_back(field_value(m, r, f, i));
      out[f->name()] = arr;
    } else {
      out[f->name()] = field_value(m, r, f, -1);
    }
  }
  return out;
}

Result<InspectReport> inspect(const fs::path& dir, const criu::HandlerProbe& probe, const fs::path& plugin_dir) {
  if (!fs::is_directory(dir)) {
    return fail(Error(dir.string() + " is not a directory", Exit::bad_input)
                    .with_hint("give the image directory of a checkpoint (gpucr checkpoint --image-dir, criu -D)"));
  }
  InspectReport r;
  r.dir = dir;
  r.inventory = GPUCR_TRY(criu::read_inventory(dir));
  r.plugin_plan = criu::plan_plugins(r.inventory, probe, plugin_dir, std::nullopt);
  r.manifest = GPUCR_TRY(read_manifest(dir));
  r.pstree = GPUCR_TRY(criu::read_pstree(dir));
  r.dump_stats = GPUCR_TRY(criu::read_stats(dir, "stats-dump"));
  r.restore_stats = GPUCR_TRY(criu::read_stats(dir, "stats-restore"));
  r.image_bytes = GPUCR_TRY(dir_size(dir));
  r.files = GPUCR_TRY(list_dir(dir)).size();
  return r;
}

static nlohmann::json plugins_json(const criu::Inventory& inv, const criu::PluginPlan& plan) {
  nlohmann::json j;
  j["field"] = criu::to_string(inv.plugins_field());
  j["names"] = inv.plugins();
  auto handlers = nlohmann::json::array();
  for (const auto& c : plan.checks) {
    handlers.push_back({{"name", c.name}, {"handled_by", criu::to_string(c.handler)},
                        {"available", c.availability.available}, {"detail", c.availability.detail},
                        {"hint", c.availability.hint}, {"meaning", criu::describe(c)}});
  }
  j["restore_here"] = {{"possible", plan.missing().empty()}, {"gpu_handling", plan.gpu_handling},
                       {"criu_sees", plan.for_criu}, {"view", plan.needs_view},
                       {"plugin_dir", plan.plugin_dir.string()}, {"meaning", plan.meaning()},
                       {"handlers", handlers}};
  return j;
}

nlohmann::json to_json(const InspectReport& r) {
  nlohmann::json j;
  j["image_dir"] = r.dir.string();
  j["image_bytes"] = r.image_bytes;
  j["files"] = r.files;
  j["inventory"] = {{"img_version", r.inventory.entry.img_version()}, {"plugins", plugins_json(r.inventory, r.plugin_plan)}};
  auto& tree = j["pstree"] = nlohmann::json::array();
  for (const auto& e : r.pstree) {
    tree.push_back({{"pid", e.pid()}, {"ppid", e.ppid()}, {"pgid", e.pgid()}, {"sid", e.sid()},
                    {"threads", e.threads().size()}});
  }
  j["dump_stats"] = r.dump_stats && r.dump_stats->has_dump() ? message_to_json(r.dump_stats->dump()) : nullptr;
  j["restore_stats"] =
      r.restore_stats && r.restore_stats->has_restore() ? message_to_json(r.restore_stats->restore()) : nullptr;
  j["manifest"] = r.manifest ? message_to_json(*r.manifest) : nullptr;
  make_printable(j);  // names read from the image (plugins, paths) may be any bytes
  return j;
}

static std::string us(std::uint64_t micros) { return format_duration(std::chrono::microseconds(micros)); }

// The manifest's CUDA records: the checkpoint host's GPUs and each CUDA process.
static std::string cuda_text(const pb::Manifest& m) {
  std::ostringstream o;
  std::map<std::string, std::string> names;
  o << "CUDA             backend " << (m.cuda_backend().empty() ? "none" : m.cuda_backend()) << ", "
    << m.host_gpus_size() << " GPU(s) on the checkpoint host\n";
  for (const auto& g : m.host_gpus()) {
    names[g.uuid()] = g.name();
    o << "  GPU " << g.index() << "  " << g.uuid() << "  " << g.name() << "  "
      << format_bytes(g.memory_bytes()) << "\n";
  }
  for (const auto& p : m.cuda_processes()) {
    std::vector<std::string> ns, gpus, phases;
    for (auto n : p.nspid()) ns.push_back(std::to_string(n));
    for (const auto& u : p.gpu_uuids()) gpus.push_back(u + (names.count(u) ? " (" + names[u] + ")" : ""));
    for (const auto& ph : p.phases()) {
      phases.push_back(ph.name() + " " + us(static_cast<std::uint64_t>(ph.duration_us())) + (ph.ok() ? "" : " FAILED"));
    }
    o << "  pid " << p.pid() << "  nspid " << join(ns, "/") << "  " << p.comm() << "  initial "
      << p.initial_state() << "  " << format_bytes(p.device_memory_bytes()) << " device memory on "
      << (gpus.empty() ? "no GPU" : join(gpus, ", ")) << (phases.empty() ? "" : "; " + join(phases, ", ")) << "\n";
  }
  return o.str();
}

std::string to_text(const InspectReport& r) {
  std::ostringstream o;
  if (r.archive) o << *r.archive << "\n";
  else o << "image directory  " << r.dir.string() << "\n";
  o << "size             " << format_bytes(r.image_bytes) << " in " << r.files << " files\n";
  o << "inventory        img_version " << r.inventory.entry.img_version() << "\n";
  o << "plugins field    " << criu::to_string(r.inventory.plugins_field());
  if (r.inventory.plugins_field() == criu::PluginsField::listed) {
    std::vector<std::string> names;
    for (const auto& n : r.inventory.plugins()) names.push_back(printable_utf8(n));
    o << ": " << join(names, ", ");
  }
  o << "\n";
  o << "restore here     " << printable_utf8(r.plugin_plan.meaning()) << "\n";
  for (const auto& c : r.plugin_plan.checks) {
    o << "  " << printable_utf8(c.name) << " -> " << printable_utf8(criu::describe(c)) << "\n";
  }
  o << "processes        " << r.pstree.size() << " (root pid " << r.pstree.front().pid() << ")\n";
  if (r.dump_stats && r.dump_stats->has_dump()) {
    const auto& d = r.dump_stats->dump();
    o << "dump stats       freezing " << us(d.freezing_time()) << ", frozen " << us(d.frozen_time())
      << ", memdump " << us(d.memdump_time()) << ", memwrite " << us(d.memwrite_time()) << "\n";
    o << "                 pages scanned " << d.pages_scanned() << ", written " << d.pages_written()
      << ", skipped (parent) " << d.pages_skipped_parent() << "\n";
  }
  if (r.restore_stats && r.restore_stats->has_restore()) {
    const auto& s = r.restore_stats->restore();
    o << "restore stats    forking " << us(s.forking_time()) << ", restore " << us(s.restore_time())
      << ", pages restored " << s.pages_restored() << "\n";
  }
  if (!r.manifest) {
    o << "gpucr manifest   none (not checkpointed by gpucr)\n";
    return o.str();
  }
  const auto& m = *r.manifest;
  o << "gpucr manifest   gpucr " << m.gpucr_version() << ", criu " << m.criu_version() << ", host "
    << m.hostname() << " (kernel " << m.kernel() << ")\n";
  o << "tree             root pid " << m.target().root_pid() << ", " << m.processes_size() << " processes\n";
  if (m.has_freezer()) {
    const auto& f = m.freezer();
    o << "freezer          " << (f.version() == pb::FreezerRecord::CGROUP_V2 ? "cgroup v2 " : "cgroup v1 freezer ")
      << (f.cgroup().empty() ? f.dir() : f.cgroup() + " (" + f.dir() + ")") << ": "
      << (f.original_state() == pb::FreezerRecord::FROZEN ? (f.freezing() ? "FREEZING" : "FROZEN") : "THAWED")
      << " at checkpoint" << (f.thawed_by_gpucr() ? ", thawed by gpucr for GPU work" : "") << "\n";
  }
  for (const auto& p : m.processes()) {
    std::vector<std::string> ns;
    for (auto n : p.nspid()) ns.push_back(std::to_string(n));
    o << "  pid " << p.pid() << "  ppid " << p.ppid() << "  nspid " << join(ns, "/") << "  threads "
      << p.threads() << "  " << p.comm() << "\n";
  }
  if (m.cuda_processes_size() > 0 || m.host_gpus_size() > 0) o << cuda_text(m);
  o << "phases\n";
  for (const auto& ph : m.phases()) {
    o << "  " << ph.name() << std::string(ph.name().size() < 22 ? 22 - ph.name().size() : 1, ' ')
      << us(static_cast<std::uint64_t>(ph.duration_us())) << (ph.ok() ? "" : "  FAILED") << "\n";
  }
  return o.str();
}

}  // namespace gpucr
