#include "recovery/journal.hpp"
#include "util/json.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include <chrono>
#include <cstdlib>
#include <random>

namespace gpucr::recovery {

namespace {

nlohmann::json id_json(const std::optional<proc::ProcessId>& id) {
  if (!id) return nullptr;
  return {{"pid", id->pid}, {"start_time", id->start_time}};
}

std::optional<proc::ProcessId> id_from(const nlohmann::json& j) {
  if (!j.is_object()) return std::nullopt;
  return proc::ProcessId{json_int<pid_t>(j, "pid", 0), json_int<std::uint64_t>(j, "start_time", 0)};
}

nlohmann::json container_json(const std::optional<JournalContainer>& c) {
  if (!c) return nullptr;
  return {{"id", c->id}, {"runtime", c->runtime}, {"globals", c->globals}};
}

std::optional<JournalContainer> container_from(const nlohmann::json& j) {
  if (!j.is_object()) return std::nullopt;
  return JournalContainer{j.at("id").get<std::string>(), j.value("runtime", ""),
                          j.value("globals", std::vector<std::string>{})};
}

}  // namespace

nlohmann::json to_json(const JournalData& d) {
  auto procs = nlohmann::json::array();
  for (const auto& p : d.processes) {
    procs.push_back({{"pid", p.id.pid}, {"start_time", p.id.start_time}, {"nspid", p.nspid},
                     {"target", cuda::to_string(p.target)}, {"device_bytes", p.device_bytes}});
  }
  return {{"version", 1},           {"id", d.id},
          {"op", d.op},             {"created_ms", d.created_ms},
          {"owner", id_json(d.owner)}, {"guardian", id_json(d.guardian)},
          {"phase", d.phase},       {"cancel", d.cancel},
          {"criu", id_json(d.criu)}, {"criu_deadline_ms", d.criu_deadline_ms},
          {"restore_pidfile", d.restore_pidfile}, {"restore_pids", d.restore_pids}, {"view", d.view},
          {"backend", d.backend},   {"tool", d.tool},
          {"device_map", d.device_map}, {"processes", procs},
          {"freezer", d.freezer},   {"container", container_json(d.container)},
          {"thp_window", d.thp_window.empty() ? nlohmann::json() : nlohmann::json{{"original", d.thp_window}}}};
}

Result<JournalData> journal_from_json(const nlohmann::json& j, const std::string& name) {
  auto bad = [&](const std::string& why) {
    return fail(Error("journal " + name + " is unreadable: " + why, Exit::bad_input));
  };
  if (!j.is_object()) return bad("not a JSON object");
  JournalData d;
  try {
    auto version = j.find("version");
    if (version == j.end() || !version->is_number_integer() || *version != 1) {
      return bad("unsupported version " + json_text(j.value("version", nlohmann::json())));
    }
    d.id = j.at("id").get<std::string>();
    d.op = j.at("op").get<std::string>();
    d.created_ms = json_int<std::int64_t>(j, "created_ms", 0);
    d.owner = id_from(j.at("owner")).value_or(proc::ProcessId{});
    d.guardian = id_from(j.value("guardian", nlohmann::json()));
    d.phase = j.value("phase", "");
    d.cancel = j.value("cancel", false);
    d.criu = id_from(j.value("criu", nlohmann::json()));
    d.criu_deadline_ms = json_int<std::int64_t>(j, "criu_deadline_ms", 0);
    d.restore_pidfile = j.value("restore_pidfile", "");
    d.restore_pids = json_int_array<pid_t>(j, "restore_pids");
    d.view = j.value("view", "");
    d.backend = j.value("backend", "");
    d.tool = j.value("tool", "");
    d.device_map = j.value("device_map", "");
    for (const auto& p : j.value("processes", nlohmann::json::array())) {
      JournalProcess jp;
      if (!p.is_object() || !p.contains("pid")) return bad("a process has no pid");
      jp.id = {json_int<pid_t>(p, "pid", 0), json_int<std::uint64_t>(p, "start_time", 0)};
      jp.nspid = json_int_array<pid_t>(p, "nspid");
      jp.device_bytes = json_int<std::uint64_t>(p, "device_bytes", 0);
      auto t = cuda::parse_state(p.value("target", ""));
      if (!t) return bad("process " + std::to_string(jp.id.pid) + " has no valid target state");
      jp.target = *t;
      d.processes.push_back(std::move(jp));
    }
    d.freezer = j.value("freezer", nlohmann::json());
    d.container = container_from(j.value("container", nlohmann::json()));
    if (auto t = j.value("thp_window", nlohmann::json()); t.is_object()) d.thp_window = t.value("original", "");
    if (j.contains("thp_window") && !j["thp_window"].is_null() && d.thp_window.empty()) {
      return bad("thp_window has no original mode");
    }
  } catch (const nlohmann::json::exception& e) {
    return bad(e.what());
  } catch (const JsonShapeError& e) {
    return bad(e.what());
  }
  return d;
}

Result<Journal> Journal::create(const RunDir& run, const std::string& op) {
  GPUCR_TRY(run.ensure("ops"));
  Journal j;
  std::random_device rd;
  char id[40];
  std::snprintf(id, sizeof id, "%s-%d-%08x", op.c_str(), static_cast<int>(::getpid()), rd());
  j.data_.id = id;
  j.data_.op = op;
  j.data_.created_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count();
  j.data_.owner = GPUCR_TRY(proc::self_id());
  j.path_ = run.ops() / (j.data_.id + ".json");
  GPUCR_TRY(j.save());
  return j;
}

Status Journal::save() { return write_file_atomic(path_, json_text(to_json(data_), 1) + "\n", 0600); }

void Journal::finish() { remove_journal(path_); }

fs::path Journal::side_file(const std::string& suffix) const { return journal_side_file(path_, suffix); }

Result<fs::path> Journal::scratch_dir() const {
  fs::path dir = side_file(".tmp");
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return fail(sys_error("cannot create the operation's scratch directory " + dir.string(), errno));
  }
  return dir;
}

fs::path journal_side_file(const fs::path& journal, const std::string& suffix) {
  fs::path p = journal;
  p.replace_extension(suffix);
  return p;
}

void remove_journal(const fs::path& journal) {
  std::error_code ec;
  for (const char* side : {".criu.conf", ".sock"}) fs::remove(journal_side_file(journal, side), ec);
  fs::remove_all(journal_side_file(journal, ".tmp"), ec);
  fs::remove(journal, ec);
}

Result<JournalData> load_journal(const fs::path& path, std::optional<uid_t> owner) {
  auto text = read_untrusted(path, {.max_bytes = 1ull << 20, .owner = owner});
  if (!text) {
    Error e = std::move(text).error();
    e.what = "journal " + path.string() + " is unreadable: " + e.what;
    if (e.exit != Exit::not_permitted) e.exit = Exit::bad_input;
    return fail(std::move(e));
  }
  auto j = nlohmann::json::parse(*text, nullptr, false);
  if (j.is_discarded()) return fail(Error("journal " + path.string() + " is not valid JSON", Exit::bad_input));
  return journal_from_json(j, path.string());
}

std::vector<fs::path> list_journals(const RunDir& run) {
  std::vector<fs::path> out;
  for (const auto& name : list_dir(run.ops()).value_or(std::vector<std::string>{})) {
    if (name.size() > 5 && name.substr(name.size() - 5) == ".json") out.push_back(run.ops() / name);
  }
  return out;
}

}  // namespace gpucr::recovery
