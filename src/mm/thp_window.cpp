#include "mm/thp_window.hpp"

#include "common/op_lock.hpp"
#include "util/file.hpp"
#include "util/strings.hpp"

#include <cstdlib>

namespace gpucr::mm {

const std::map<std::string, ThpWindow>& thp_window_words() {
  static const std::map<std::string, ThpWindow> words{
      {"off", ThpWindow::off}, {"on", ThpWindow::on}, {"force", ThpWindow::force}};
  return words;
}

namespace {

constexpr const char* kHolderSuffix = ".holder";
constexpr auto kLockWait = std::chrono::seconds(30);

fs::path dir(const RunDir& run) { return run.thp(); }
fs::path record_path(const RunDir& run) { return dir(run) / "original"; }
fs::path holder_path(const RunDir& run, const std::string& op) { return dir(run) / (op + kHolderSuffix); }

Result<OpLock> lock(const RunDir& run, const std::string& op) {
  GPUCR_TRY(run.ensure("thp"));
  return OpLock::acquire(dir(run) / "lock", "the THP window", op, kLockWait);
}

std::optional<proc::ProcessId> parse_holder(const std::string& text) {
  proc::ProcessId id;
  for (const auto& f : split_ws(text)) {
    if (f.rfind("pid=", 0) == 0) id.pid = static_cast<pid_t>(std::strtol(f.c_str() + 4, nullptr, 10));
    if (f.rfind("start=", 0) == 0) id.start_time = std::strtoull(f.c_str() + 6, nullptr, 10);
  }
  if (id.pid <= 0) return std::nullopt;
  return id;
}

// Removes the holders whose process is gone; returns how many live.
int live_holders(const WindowSeams& s) {
  int live = 0;
  for (const auto& name : list_dir(dir(s.run)).value_or(std::vector<std::string>{})) {
    if (!name.ends_with(kHolderSuffix)) continue;
    fs::path p = dir(s.run) / name;
    auto id = parse_holder(read_file(p).value_or(""));
    if (id && s.procs.alive(*id)) {
      ++live;
    } else {
      std::error_code ec;
      fs::remove(p, ec);
    }
  }
  return live;
}

std::optional<ThpMode> recorded(const RunDir& run) {
  auto text = read_file(record_path(run));
  if (!text) return std::nullopt;
  return parse_thp_word(trim(*text));
}

void forget_record(const RunDir& run) {
  std::error_code ec;
  fs::remove(record_path(run), ec);
}

WindowOpen no_window(std::string why, bool warning = true) {
  return WindowOpen{std::nullopt, "no THP window: " + why, warning};
}

}  // namespace

WindowOpen open_window(const WindowSeams& s, ThpWindow want, bool root, const std::string& op,
                       const proc::ProcessId& self, const std::function<Status(ThpMode)>& journal) {
  if (want == ThpWindow::off) return no_window("not asked for", false);
  if (!s.thp) return no_window("this host has no transparent huge page setting");
  if (!root) return no_window("changing the transparent huge page mode needs root");
  if (!is_safe_name(op)) return no_window("bad operation id '" + op + "'");
  auto held = lock(s.run, op);
  if (!held) return no_window(held.error().what);
  int live = live_holders(s);
  auto rec = recorded(s.run);
  std::string said;
  std::optional<ThpMode> original = live > 0 ? rec : std::nullopt;
  if (live > 0 && !rec) return no_window("another operation's window has no recorded mode in " + dir(s.run).string());
  if (!original) {
    if (rec) {  // a window whose gpucr died: its record is the host's real mode
      original = rec;
      said = " (the window of an operation that died was open: its recorded mode is kept)";
    } else {
      auto m = s.thp->mode();
      if (!m) return no_window(m.error().what);
      original = *m;
    }
    if (*original == ThpMode::always) {
      forget_record(s.run);
      return no_window("the transparent huge page mode is `always` already", false);
    }
    if (*original == ThpMode::never && want != ThpWindow::force) {
      if (rec) {
        (void)s.thp->set_mode(ThpMode::never);
        forget_record(s.run);
      }
      return no_window("the host's transparent huge page mode is `never` (--thp-window=force changes it anyway)");
    }
  }
  if (auto st = journal(*original); !st) return no_window(st.error().what);
  if (!rec) {
    if (auto st = write_file_atomic(record_path(s.run), std::string(to_string(*original)) + "\n"); !st) {
      return no_window(st.error().what);
    }
  }
  std::string holder = "pid=" + std::to_string(self.pid) + " start=" + std::to_string(self.start_time) + "\n";
  auto st = write_file_atomic(holder_path(s.run, op), holder);
  if (st && live == 0) st = s.thp->set_mode(ThpMode::always);
  if (!st) {
    std::error_code ec;
    fs::remove(holder_path(s.run, op), ec);
    // Alone in the window: the host is put back; a crashed window's record stays until it is.
    if (live == 0 && (s.thp->set_mode(*original) || !rec)) forget_record(s.run);
    return no_window(st.error().what);
  }
  if (live > 0) {
    return {original, "THP window: shared with " + std::to_string(live) + " other operation(s); the mode is `always`"};
  }
  return {original, std::string("THP window: ") + to_string(*original) + " -> always" + said};
}

Result<std::string> close_window(const WindowSeams& s, const std::string& op) {
  if (!s.thp) return std::string("no THP window to close: this host has no transparent huge page setting");
  if (!is_safe_name(op)) return fail(Error("bad operation id '" + op + "'", Exit::bad_input));
  auto held = GPUCR_TRY(lock(s.run, op));
  std::error_code ec;
  fs::remove(holder_path(s.run, op), ec);
  int live = live_holders(s);
  auto rec = recorded(s.run);
  if (live > 0) return "left the THP window; " + std::to_string(live) + " other operation(s) hold it open";
  if (!rec) return std::string("closed the THP window (nothing recorded to put back)");
  if (auto st = s.thp->set_mode(*rec); !st) {
    return fail(std::move(st).error().context("putting the transparent huge page mode back to " +
                                              std::string(to_string(*rec))));
  }
  forget_record(s.run);
  return std::string("closed the THP window: the transparent huge page mode is ") + to_string(*rec) + " again";
}

}  // namespace gpucr::mm
