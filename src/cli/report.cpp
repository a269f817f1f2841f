// What `gpucr checkpoint` and `gpucr restore` print: a summary line and the phase table, or one
// JSON document with --json (the same keys for process trees and containers; containers add
// theirs).
#include "cli/commands.hpp"
#include "cli/output.hpp"
#include "core/inspect.hpp"
#include "util/strings.hpp"

#include <cstdio>

namespace gpucr::cli {

namespace {

nlohmann::json processes_json(const std::vector<RestoredProcess>& ps) {
  nlohmann::json a = nlohmann::json::array();
  for (const auto& p : ps) {
    a.push_back({{"comm", p.comm}, {"nspid", p.nspid}, {"old_pid", p.old_pid}, {"new_pid", p.new_pid}});
  }
  return a;
}

nlohmann::json plugins_json(const std::optional<criu::PluginPlan>& p) {
  if (!p) return nullptr;
  return {{"field", criu::to_string(p->field)}, {"names", p->listed},       {"gpu_handling", p->gpu_handling},
          {"criu_sees", p->for_criu},           {"view", p->needs_view}, {"meaning", p->meaning()}};
}

nlohmann::json archive_json(const ArchiveSummary* a) {
  if (!a) return nullptr;
  return {{"file", a->file}, {"compression", a->compression}, {"members", a->members},
          {"data_bytes", a->data_bytes}, {"archive_bytes", a->archive_bytes}, {"image_dir", a->image_dir.string()},
          {"image_dir_kept", a->image_dir_kept}};
}

void print_archive_line(const ArchiveSummary& a, bool exported) {
  std::string where = a.file == "-" ? (exported ? "stdout" : "stdin") : a.file;
  std::string size = format_bytes(a.data_bytes) + (a.archive_bytes ? " (" + format_bytes(a.archive_bytes) + " written)" : "");
  std::printf("%s %s: %s, %zu members, %s%s\n", exported ? "archive written to" : "archive read from", where.c_str(),
              a.compression.c_str(), a.members, size.c_str(),
              a.image_dir_kept ? (", images in " + a.image_dir.string()).c_str() : "");
}

}  // namespace

int print_checkpoint_report(const CheckpointRequest& req, const CheckpointReport& r, bool json,
                            const ArchiveSummary* archive) {
  if (json) {
    nlohmann::json doc{{"ok", r.status.ok()},       {"image_dir", r.image_dir.string()},
                       {"criu_log", r.criu_log.string()}, {"image_bytes", r.image_bytes},
                       {"phases", phases_json(r.phases)}, {"criu_plugins", r.criu_plugins}};
    if (req.container) doc["container"] = req.container->id;
    doc["error"] = r.status.ok() ? nlohmann::json(nullptr) : error_json(r.status.error());
    doc["processes"] = r.manifest.processes_size();
    doc["cuda"] = r.cuda_report;
    doc["freezer"] = r.manifest.has_freezer() ? message_to_json(r.manifest.freezer()) : nlohmann::json(nullptr);
    if (req.archive) doc["archive"] = archive_json(archive);
    print_json(doc);
    return r.status.ok() ? 0 : static_cast<int>(r.status.error().exit);
  }
  print_cuda_report(r.cuda_report, r.status.ok());
  if (!r.status) return print_error(r.status.error());
  std::string what = req.container ? "container " + req.container->id : "pid " + std::to_string(req.pid);
  std::string into = archive && !archive->image_dir_kept ? "" : " into " + r.image_dir.string();
  std::printf("checkpointed %s (%d processes)%s: %s%s\n", what.c_str(), r.manifest.processes_size(), into.c_str(),
              format_bytes(r.image_bytes).c_str(), req.leave_running ? ", left running" : "");
  if (archive) print_archive_line(*archive, true);
  std::fputs(phase_table(r.phases).c_str(), stdout);
  return 0;
}

std::optional<int> print_restore_report(const RestoreRequest& req, const RestoreReport& r, bool json,
                                        const ArchiveSummary* archive) {
  if (json) {
    nlohmann::json doc{{"ok", r.status.ok()},          {"root_pid", r.root_pid},
                       {"criu_log", r.criu_log.string()}, {"phases", phases_json(r.phases)},
                       {"cuda", r.cuda_report},          {"refrozen", r.refrozen},
                       {"plugins", plugins_json(r.plugins)}};
    if (req.archive) doc["archive"] = archive_json(archive);
    if (req.container) {
      doc["container"] = req.container->id;
      doc["init_pid"] = r.root_pid;
      doc["processes"] = processes_json(r.processes);
      doc["paused"] = r.refrozen;
    }
    doc["error"] = r.status.ok() ? nlohmann::json(nullptr) : error_json(r.status.error());
    print_json(doc);
  } else if (r.status && req.container) {
    std::printf("restored container %s: init pid %d%s\n", req.container->id.c_str(), r.root_pid,
                r.refrozen ? " (paused again, as at checkpoint)" : "");
    for (const auto& p : r.processes) {
      std::printf("  %-16s pid %d in the container: host pid %d -> %d\n", p.comm.c_str(), p.nspid, p.old_pid, p.new_pid);
    }
  } else if (r.status) {
    std::string from = archive ? archive_name(archive->file) : req.image_dir.string();
    std::printf("restored %s: root pid %d%s\n", from.c_str(), r.root_pid,
                r.refrozen ? " (frozen again, as at checkpoint)" : "");
    if (r.plugins) std::printf("plugins field: %s\n", r.plugins->meaning().c_str());
  }
  if (!json && r.status && archive) print_archive_line(*archive, false);
  return finish_report(r.status, r.cuda_report, r.phases, json);
}

}  // namespace gpucr::cli
