#include "recovery/recover.hpp"

#include "criu/image_view.hpp"
#include "freezer/keeper.hpp"
#include "recovery/guardian.hpp"

#include "gpu/cuda/deadlines.hpp"
#include "mm/thp_window.hpp"
#include "util/parallel.hpp"
#include "util/strings.hpp"

#include "util/json.hpp"

#include <csignal>
#include <mutex>

namespace gpucr::recovery {

using cuda::State;
using cuda::Step;

nlohmann::json freezer_to_journal(const pb::FreezerRecord& r) {
  static const char* kHex = "0123456789abcdef";
  std::string bytes = r.SerializeAsString(), hex;
  for (unsigned char c : bytes) {
    hex += kHex[c >> 4];
    hex += kHex[c & 15];
  }
  return {{"record", hex}, {"dir", printable_utf8(r.dir())},
          {"original_state", pb::FreezerRecord::State_Name(r.original_state())}, {"thawed_by_gpucr", r.thawed_by_gpucr()}};
}

Result<pb::FreezerRecord> freezer_from_journal(const nlohmann::json& j) {
  auto bad = [] { return fail(Error("the journal's freezer record is unreadable", Exit::bad_input)); };
  if (!j.is_object() || !j.contains("record") || !j["record"].is_string()) return bad();
  std::string hex = j["record"].get<std::string>(), bytes;
  if (hex.size() % 2) return bad();
  for (size_t i = 0; i < hex.size(); i += 2) {
    auto nib = [](char c) { return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1; };
    int hi = nib(hex[i]), lo = nib(hex[i + 1]);
    if (hi < 0 || lo < 0) return bad();
    bytes.push_back(static_cast<char>(hi * 16 + lo));
  }
  pb::FreezerRecord r;
  if (!r.ParseFromString(bytes)) return bad();
  return r;
}

Result<std::string> bring_to_state(cuda::Checkpointer& backend, pid_t pid, State target,
                                   const std::vector<cuda::GpuPair>& map, std::uint64_t device_bytes) {
  const std::string who = "pid " + std::to_string(pid);
  auto call = [&](Step step) -> Result<cuda::Reply> {
    cuda::CallArgs args;
    args.map = map;
    auto deadline = Clock::now() + cuda::call_budget(step, device_bytes, args.lock_timeout);
    auto r = GPUCR_TRY(backend.call(step, pid, args, deadline));
    if (!r.ok()) {
      return fail(Error("CUDA " + std::string(cuda::to_string(step)) + " of " + who + " failed: " + r.error));
    }
    return r;
  };
  auto first = GPUCR_TRY(call(Step::get_state));
  State st = first.state.value_or(State::failed);
  std::string path = cuda::to_string(st);
  for (int i = 0; i < 3 && st != target; ++i) {
    if (st == State::checkpointed) {
      GPUCR_TRY(call(Step::restore));
      st = State::locked;
    } else if (st == State::locked && target == State::running) {
      GPUCR_TRY(call(Step::unlock));
      st = State::running;
    } else {
      break;
    }
    path += std::string(" -> ") + cuda::to_string(st);
  }
  if (st != target) {
    return fail(Error(who + " is " + cuda::to_string(st) + " and can't be brought back to " + cuda::to_string(target),
                      Exit::rollback_incomplete));
  }
  return who + ": " + path;
}

namespace {

std::int64_t wall_ms(const Seams& s) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(s.time.wall().time_since_epoch()).count();
}

// Waits for the operation's criu (or the runtime that runs it) to end, no longer than the
// journal's deadline; past it, its process group is killed (docs/FACTS.md §9: the tasks resume).
// Returns whether it had to be stopped.
bool wait_for_criu(const Seams& s, const JournalData& d, std::vector<std::string>& lines) {
  const auto& criu = d.criu;
  if (!criu || !s.procs.alive(*criu)) return false;
  lines.push_back("waiting for criu (pid " + std::to_string(criu->pid) + ") to finish");
  while (s.procs.alive(*criu)) {
    if (d.criu_deadline_ms > 0 && wall_ms(s) >= d.criu_deadline_ms) {
      lines.push_back("criu (pid " + std::to_string(criu->pid) + ") ran past the operation's deadline: killed it and "
                      "its process group (SIGKILL)");
      (void)s.control.kill_group(*criu, SIGKILL);
      for (int i = 0; i < 100 && s.procs.alive(*criu); ++i) s.time.sleep_for(std::chrono::milliseconds(100));
      return true;
    }
    s.time.sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

// A tree restore whose criu did not finish: the processes it made (a dumped pid, started after
// criu) wait for it forever; they are killed (the images stay, for another try).
void kill_half_restored(const Seams& s, const JournalData& d, std::vector<std::string>& lines) {
  if (d.op != "restore" || d.container || !d.criu || d.restore_pids.empty()) return;
  if (!d.restore_pidfile.empty() && fs::exists(d.restore_pidfile)) return;  // criu finished
  std::vector<std::string> killed;
  for (pid_t pid : d.restore_pids) {
    auto info = s.procs.info(pid);
    if (!info || info->start_time < d.criu->start_time || pid == d.criu->pid) continue;
    (void)s.control.kill({pid, info->start_time}, SIGKILL);
    killed.push_back(std::to_string(pid));
  }
  if (!killed.empty()) lines.push_back("killed the half-restored tree (pids " + join(killed, ", ") + ")");
}

// The image view a restore made in the image directory (criu/image_view.hpp).
void remove_view(const JournalData& d, std::vector<std::string>& lines) {
  if (d.view.empty()) return;
  fs::path view(d.view);
  std::error_code ec;
  if (view.filename().string().rfind(criu::kViewPrefix, 0) != 0 || !fs::is_directory(fs::symlink_status(view, ec))) return;
  fs::remove_all(view, ec);
  lines.push_back("removed the image view " + view.string());
}

bool has_unknown_pids(const JournalData& d) {
  for (const auto& p : d.processes) {
    if (p.id.pid == 0) return true;
  }
  return false;
}

// A container restore whose processes are not known yet: the runtime restores them. Waits until
// the container runs (its init pid is known) or the runtime command has ended.
// The runtime recovery may run for a journal's container: gpucr's configured one, else runc or
// crun found in PATH when the journal names one of them. Of the journal's global options only
// --root DIR (absolute) and --systemd-cgroup are passed on: a journal can't add --criu or --log.
std::optional<std::pair<fs::path, std::vector<std::string>>> trusted_runtime(const Seams& s, const JournalContainer& c) {
  fs::path path;
  if (s.runtime) {
    path = *s.runtime;
  } else {
    std::string name = fs::path(c.runtime).filename().string();
    if (name != "runc" && name != "crun") return std::nullopt;
    path = find_program(name);
    if (path.empty()) return std::nullopt;
  }
  std::vector<std::string> globals;
  for (size_t i = 0; i < c.globals.size(); ++i) {
    const std::string& g = c.globals[i];
    std::string root;
    if ((g == "--root" || g == "-root") && i + 1 < c.globals.size()) root = c.globals[++i];
    else if (g.rfind("--root=", 0) == 0) root = g.substr(7);
    else if (g == "--systemd-cgroup") globals.push_back(g);
    if (!root.empty() && fs::path(root).is_absolute() && root.find("/../") == std::string::npos) {
      globals.insert(globals.end(), {"--root", root});
    }
  }
  return std::make_pair(path, globals);
}

std::optional<pid_t> container_init(const Seams& s, const JournalContainer& c) {
  auto trusted = trusted_runtime(s, c);
  if (!trusted) return std::nullopt;
  auto rt = s.runtimes.open(trusted->first, trusted->second);
  auto st = rt->state(c.id);
  if (!st || (st->status != "running" && st->status != "paused") || st->pid <= 0) return std::nullopt;
  return st->pid;
}

pid_t wait_for_container(const Seams& s, const JournalData& d, std::vector<std::string>& lines) {
  bool said = false;
  for (;;) {
    bool runtime_alive = d.criu && s.procs.alive(*d.criu);
    if (auto init = container_init(s, *d.container)) return *init;
    if (!runtime_alive) return 0;
    if (!said) {
      lines.push_back("waiting for the runtime (pid " + std::to_string(d.criu->pid) + ") to restore container " +
                      d.container->id);
      said = true;
    }
    s.time.sleep_for(std::chrono::milliseconds(100));
  }
}

// A restore's processes are known by NSpid until criu has restored them: from the restored root
// (criu's pid file, or the container's init pid).
void resolve_restored(const proc::ProcessTable& procs, JournalData& d, pid_t root) {
  if (root <= 0 && !d.restore_pidfile.empty()) {
    if (auto text = read_file(d.restore_pidfile)) root = static_cast<pid_t>(std::atol(text->c_str()));
  }
  if (root <= 0) return;
  for (auto& p : d.processes) {
    if (p.id.pid != 0 || p.nspid.empty()) continue;
    if (auto host = proc::host_pid_for_nspid(procs, root, p.nspid.back())) {
      if (auto info = procs.info(*host)) p.id = {*host, info->start_time};
    }
  }
}

Result<std::vector<cuda::GpuPair>> parse_map(const std::string& text) {
  std::vector<cuda::GpuPair> map;
  if (text.empty()) return map;
  for (const auto& item : split(text, ',')) {
    auto eq = item.find('=');
    if (eq == std::string::npos) return fail(Error("bad device map in journal", Exit::bad_input));
    map.push_back({GPUCR_TRY(cuda::parse_uuid(item.substr(0, eq))), GPUCR_TRY(cuda::parse_uuid(item.substr(eq + 1)))});
  }
  return map;
}

// Every live CUDA process of the journal back to its target state, in parallel. A driver call
// the dead gpucr had in flight dies with it (PR_SET_PDEATHSIG) but may land just after the first
// pass: a second look, a moment later, fixes what moved.
// The backend the journal's operation used; the tool's path is gpucr's to say, not the journal's.
Result<std::unique_ptr<cuda::Checkpointer>> backend_for(const Seams& s, const JournalData& d) {
  auto choice = d.backend == "tool" ? cuda::BackendChoice::tool : cuda::BackendChoice::api;
  return s.cuda_backends.make(choice, s.cuda_tool);
}

void return_gpu_state(const Seams& deps, const JournalData& d, std::vector<std::string>& lines,
                      std::vector<std::string>& failures) {
  std::vector<const JournalProcess*> live;
  for (const auto& p : d.processes) {
    if (p.id.pid > 0 && deps.procs.alive(p.id)) {
      live.push_back(&p);
    } else {
      lines.push_back("pid " + std::to_string(p.id.pid) + ": gone, nothing to do");
    }
  }
  if (live.empty()) return;
  auto backend = backend_for(deps, d);
  auto map = parse_map(d.device_map);
  if (!backend || !map) {
    failures.push_back(!backend ? backend.error().what : map.error().what);
    return;
  }
  std::mutex mu;
  auto pass = [&](const std::string& prefix, bool only_moves) {
    parallel_for(live.size(), [&](size_t i) {
      auto r = bring_to_state(**backend, live[i]->id.pid, live[i]->target, *map, live[i]->device_bytes);
      std::lock_guard lock(mu);
      if (!r) failures.push_back(r.error().what);
      else if (!only_moves || r->find("->") != std::string::npos) lines.push_back(prefix + *r);
    });
  };
  pass("", false);
  if (!failures.empty()) return;
  deps.time.sleep_for(std::chrono::milliseconds(300));
  pass("second look: ", true);
}

// A dead operation's huge-page window: it leaves it, and the last holder puts the mode back.
void close_thp_window(const Seams& s, const JournalData& d, std::vector<std::string>& lines,
                      std::vector<std::string>& failures) {
  if (d.thp_window.empty()) return;
  auto r = mm::close_window({s.thp, s.procs, s.run}, d.id);
  if (r) lines.push_back(*r);
  else failures.push_back(r.error().what);
}

// The journal's freezer record (JSON of pb::FreezerRecord) -> thawed for the GPU calls (`thaw`)
// or back to its original state.
Status freezer_step(const Seams& s, const nlohmann::json& j, bool thaw) {
  auto parsed = freezer_from_journal(j);
  if (!parsed) return fail(std::move(parsed).error().with_exit(Exit::rollback_incomplete));
  const pb::FreezerRecord& rec = *parsed;
  if (!thaw) return freezer::restore_original_state(s.freezer, rec);
  freezer::Cgroup cg = freezer::from_record(rec);
  if (!s.freezer.exists(cg)) return {};
  return s.freezer.thaw(cg, freezer::kDefaultTimeout);
}

}  // namespace

RecoverReport recover(const fs::path& journal, const Seams& deps) {
  RecoverReport rep;
  auto loaded = load_journal(journal, deps.run.owner());
  if (!loaded) {
    rep.status = fail(std::move(loaded).error());
    return rep;
  }
  JournalData d = std::move(*loaded);
  rep.lines.push_back("recovering " + d.op + " " + d.id + " (phase: " + d.phase + ")");
  pid_t root = 0;
  if (d.container && d.op == "restore") {
    // The runtime may stay as the restored container's parent: never wait for it to end.
    if (has_unknown_pids(d)) root = wait_for_container(deps, d, rep.lines);
  } else {
    wait_for_criu(deps, d, rep.lines);
    kill_half_restored(deps, d, rep.lines);
  }
  std::vector<std::string> failures;
  close_thp_window(deps, d, rep.lines, failures);
  remove_view(d, rep.lines);
  resolve_restored(deps.procs, d, root);
  bool frozen_record = !d.freezer.is_null();
  if (frozen_record) {
    if (auto st = freezer_step(deps, d.freezer, /*thaw=*/true); !st) rep.lines.push_back("thaw failed: " + st.error().what);
  }
  return_gpu_state(deps, d, rep.lines, failures);
  if (frozen_record) {
    if (auto st = freezer_step(deps, d.freezer, /*thaw=*/false); !st) failures.push_back(st.error().what);
  }
  if (failures.empty()) {
    remove_journal(journal);
    rep.lines.push_back("recovered: every process and cgroup is back in its intended state");
    return rep;
  }
  Error e("recovery of " + journal.string() + " is incomplete", Exit::rollback_incomplete);
  e.details = failures;
  e.hint = "the journal was kept; fix the cause and run `gpucr recover` again";
  rep.status = fail(std::move(e));
  return rep;
}

Status check_abandoned(const Seams& seams, const fs::path& journal) {
  auto d = GPUCR_TRY(load_journal(journal, seams.run.owner()));
  auto busy = [&](const char* who, const proc::ProcessId& id) {
    return fail(Error("the operation of " + journal.string() + " is still under way: its " + who + " (pid " +
                          std::to_string(id.pid) + ") is alive",
                      Exit::failed)
                    .with_hint("wait for it to finish (a stopped gpucr: `kill -CONT " + std::to_string(id.pid) +
                               "`), or pass --force to recover now anyway"));
  };
  if (seams.procs.alive(d.owner)) return busy("gpucr", d.owner);
  if (d.guardian && seams.procs.alive(*d.guardian)) return busy("guardian", *d.guardian);
  return {};
}

JournalScan scan_journals(const Seams& seams) {
  JournalScan scan;
  for (const auto& path : list_journals(seams.run)) {
    auto d = load_journal(path, seams.run.owner());
    if (!d) {
      scan.unreadable.emplace_back(path, d.error());
      continue;
    }
    bool owner = seams.procs.alive(d->owner);
    bool guardian = d->guardian && seams.procs.alive(*d->guardian);
    if (!owner && !guardian) scan.stale.push_back(path);
  }
  return scan;
}

std::vector<fs::path> stale_container_journals(const Seams& seams, const std::string& id) {
  std::vector<fs::path> out;
  for (const auto& path : scan_journals(seams).stale) {
    auto d = load_journal(path, seams.run.owner());
    if (!d || !d->container || d->container->id != id) continue;
    if (d->criu && seams.procs.alive(*d->criu)) continue;
    out.push_back(path);
  }
  return out;
}

Status finish_abandoned(const Seams& seams, const std::function<void(const std::string&)>& note) {
  GPUCR_TRY(seams.run.check_existing(seams.run.root()));
  GPUCR_TRY(seams.run.check_existing(seams.run.ops()));
  auto scan = scan_journals(seams);
  for (const auto& [path, err] : scan.unreadable) {
    note("ignoring " + path.string() + ": " + err.what + " (inspect it, then `gpucr recover --discard " +
         path.string() + "`)");
  }
  for (const auto& j : scan.stale) {
    note("finishing an operation an earlier gpucr left unfinished: " + j.string());
    auto rep = recover(j, seams);
    if (!rep.status) rep.lines.push_back("error: " + rep.status.error().what + " (" + rep.status.error().hint + ")");
    for (const auto& l : rep.lines) note(l);
    log_recovery(seams.run, rep.lines);
  }
  return {};
}

}  // namespace gpucr::recovery
