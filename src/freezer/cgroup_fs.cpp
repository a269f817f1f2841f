#include "freezer/cgroup_fs.hpp"

#include <linux/magic.h>
#include <sys/vfs.h>

#include "util/fd.hpp"
#include "util/strings.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <functional>
#include <thread>

namespace gpucr::freezer {

const char* to_string(Version v) { return v == Version::v1 ? "v1" : "v2"; }

const char* to_string(State s) {
  switch (s) {
    case State::thawed: return "THAWED";
    case State::freezing: return "FREEZING";
    case State::frozen: return "FROZEN";
  }
  return "?";
}

std::string Cgroup::describe() const {
  std::string what = version == Version::v1 ? "cgroup v1 freezer " : "cgroup v2 ";
  return what + (path.empty() ? dir.string() : path + " (" + dir.string() + ")");
}

namespace {

Error bad_file(const std::string& name, const std::string& why) {
  return Error(name + ": " + why, Exit::bad_input);
}

// mountinfo escapes space, tab, newline and backslash as \ooo.
std::string unescape(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size() &&
        std::all_of(s.begin() + static_cast<long>(i) + 1, s.begin() + static_cast<long>(i) + 4,
                    [](char c) { return c >= '0' && c <= '7'; })) {
      out.push_back(static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0')));
      i += 3;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

// fs::exists without its exception: a path the kernel refuses (too long, a loop, no search
// permission) is a path that does not exist here, never an escaping filesystem_error (exit 70).
bool path_exists(const fs::path& p) {
  std::error_code ec;
  return fs::exists(p, ec);
}

bool has(const std::vector<std::string>& v, std::string_view x) { return std::find(v.begin(), v.end(), x) != v.end(); }

Status write_control(const fs::path& file, std::string_view value) {
  UniqueFd fd(::open(file.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC));
  if (!fd) return fail(sys_error("cannot open " + file.string() + " for writing", errno));
  ssize_t n = ::write(fd.get(), value.data(), value.size());
  if (n != static_cast<ssize_t>(value.size())) {
    return fail(sys_error("cannot write '" + std::string(value) + "' to " + file.string(), n < 0 ? errno : EIO));
  }
  return {};
}

Result<std::string> read_control(const fs::path& file) {
  auto text = read_file(file);
  if (!text && !path_exists(file.parent_path())) {
    return fail(Error("cgroup " + file.parent_path().string() + " no longer exists", Exit::bad_input));
  }
  return text;
}

}  // namespace

Result<std::vector<CgroupLine>> parse_proc_cgroup(std::string_view text, const std::string& name) {
  std::vector<CgroupLine> out;
  for (const auto& raw : split(text, '\n')) {
    if (trim(raw).empty()) continue;
    size_t a = raw.find(':');
    size_t b = a == std::string::npos ? a : raw.find(':', a + 1);
    if (b == std::string::npos) return fail(bad_file(name, "malformed line '" + raw + "'"));
    CgroupLine l;
    l.id = static_cast<int>(GPUCR_TRY(parse_int(raw.substr(0, a), "hierarchy id in " + name)));
    for (auto& c : split(raw.substr(a + 1, b - a - 1), ',')) {
      if (!c.empty()) l.controllers.push_back(c);
    }
    l.path = raw.substr(b + 1);
    if (l.path.empty() || l.path.front() != '/') return fail(bad_file(name, "malformed path in '" + raw + "'"));
    out.push_back(std::move(l));
  }
  return out;
}

Result<std::vector<MountEntry>> parse_mountinfo(std::string_view text, const std::string& name) {
  std::vector<MountEntry> out;
  for (const auto& raw : split(text, '\n')) {
    auto f = split(raw, ' ');
    if (trim(raw).empty()) continue;
    auto dash = std::find(f.begin(), f.end(), "-");
    if (f.size() < 10 || dash - f.begin() < 6 || f.end() - dash < 4) {
      return fail(bad_file(name, "malformed line '" + raw + "'"));
    }
    MountEntry m;
    m.root = unescape(f[3]);
    m.mount_point = unescape(f[4]);
    m.fstype = *(dash + 1);
    m.super_options = split(*(dash + 3), ',');
    out.push_back(std::move(m));
  }
  return out;
}

std::optional<std::string> map_to_mount(const MountEntry& m, std::string_view path) {
  std::string_view root = m.root == "/" ? std::string_view() : std::string_view(m.root);
  if (path.substr(0, root.size()) != root) return std::nullopt;
  std::string_view rest = path.substr(root.size());
  if (!rest.empty() && rest.front() != '/') return std::nullopt;  // "/ab" is not under "/a"
  std::string dir = m.mount_point;
  if (rest != "/" && !rest.empty()) dir += std::string(rest);
  return dir;
}

Result<State> parse_v1_state(std::string_view text, const std::string& name) {
  std::string_view s = trim(text);
  if (s == "THAWED") return State::thawed;
  if (s == "FREEZING") return State::freezing;
  if (s == "FROZEN") return State::frozen;
  return fail(bad_file(name, "unknown freezer state '" + std::string(s) + "'"));
}

Result<State> parse_v2_state(std::string_view freeze, std::string_view events, const std::string& name) {
  std::string_view f = trim(freeze);
  if (f != "0" && f != "1") return fail(bad_file(name + "/cgroup.freeze", "expected 0 or 1, read '" + std::string(f) + "'"));
  for (const auto& line : split(events, '\n')) {
    auto kv = split_ws(line);
    if (kv.size() != 2 || kv[0] != "frozen") continue;
    bool frozen = kv[1] == "1";
    if (frozen) return State::frozen;  // also when only an ancestor asked for it
    return f == "1" ? State::freezing : State::thawed;
  }
  return fail(bad_file(name + "/cgroup.events", "no 'frozen' key"));
}

fs::path CgroupFs::under_root(const fs::path& abs) const {
  return root_ == "/" ? abs : root_ / abs.relative_path();
}

namespace {

// The cgroup of version `v` at `path`, or nullopt with the reason in `why_not`.
std::optional<Cgroup> candidate(const std::vector<MountEntry>& mounts, Version v, const std::string& path,
                                const std::function<fs::path(const fs::path&)>& under_root,
                                std::string& why_not) {
  const char* label = v == Version::v1 ? "v1 freezer:" : "v2 0::";
  if (path == "/") {
    why_not = std::string(label) + "/ is the root cgroup";
    return std::nullopt;
  }
  for (const auto& m : mounts) {
    bool match = v == Version::v1 ? m.fstype == "cgroup" && has(m.super_options, "freezer") : m.fstype == "cgroup2";
    if (!match) continue;
    auto dir = map_to_mount(m, path);
    if (!dir) continue;
    fs::path d = under_root(*dir);
    const char* control = v == Version::v1 ? "freezer.state" : "cgroup.freeze";
    if (!path_exists(d / control)) {
      why_not = d.string() + " has no " + control + (v == Version::v2 ? " (kernel < 5.2?)" : "");
      return std::nullopt;
    }
    return Cgroup{v, path, d};
  }
  why_not = std::string(label) + path + " is not visible under any mount of that hierarchy";
  return std::nullopt;
}

}  // namespace

Result<Lookup> CgroupFs::find(pid_t pid) const {
  fs::path pid_dir = root_ / "proc" / std::to_string(pid);
  if (!path_exists(pid_dir)) {
    return fail(Error("no process with pid " + std::to_string(pid), Exit::bad_input));
  }
  auto cg_text = read_file(pid_dir / "cgroup");
  if (!cg_text) return fail(std::move(cg_text).error().with_exit(Exit::bad_input));
  auto lines = GPUCR_TRY(parse_proc_cgroup(*cg_text, (pid_dir / "cgroup").string()));
  fs::path mi = root_ / "proc/self/mountinfo";
  auto mounts = GPUCR_TRY(parse_mountinfo(GPUCR_TRY(read_file(mi)), mi.string()));

  auto ur = [this](const fs::path& p) { return under_root(p); };
  std::vector<Cgroup> found;
  std::vector<std::string> why;
  bool v1_line = false, v2_line = false;
  for (const auto& l : lines) {
    bool is_v1 = l.id != 0 && has(l.controllers, "freezer");
    bool is_v2 = l.id == 0 && l.controllers.empty();
    if (!is_v1 && !is_v2) continue;
    (is_v1 ? v1_line : v2_line) = true;
    std::string why_not;
    if (auto c = candidate(mounts, is_v1 ? Version::v1 : Version::v2, l.path, ur, why_not)) {
      found.push_back(*c);
    } else {
      why.push_back(why_not);
    }
  }
  if (!v1_line) why.push_back("no v1 freezer controller");
  if (!v2_line) why.push_back("no cgroup v2 line");
  std::sort(found.begin(), found.end(), [](const Cgroup& a, const Cgroup& b) { return a.version < b.version; });
  Lookup r;
  if (found.empty()) {
    r.none_reason = "pid " + std::to_string(pid) + " is in no freezer cgroup that can be frozen (" + join(why, "; ") +
                    "); there is no freezer state to keep";
    return r;
  }
  r.cgroup = found.front();
  for (const auto& c : found) {  // hybrid host: the frozen one is what matters
    if (auto st = state(c); st && counts_as_frozen(*st)) {
      r.cgroup = c;
      break;
    }
  }
  return r;
}

Result<Cgroup> CgroupFs::at(const fs::path& dir) const {
  if (Cgroup v1{Version::v1, "", dir}; exists(v1)) return v1;
  if (Cgroup v2{Version::v2, "", dir}; exists(v2)) return v2;
  return fail(Error(dir.string() + " is not a freezer cgroup: it has neither freezer.state (v1) nor cgroup.freeze (v2)",
                    Exit::usage)
                  .with_hint("give the cgroup's directory, e.g. /sys/fs/cgroup/freezer/NAME (v1) or "
                             "/sys/fs/cgroup/NAME (v2); the root cgroup can't be frozen"));
}

// On the real host (root "/") a cgroup directory must be on a cgroup file system: a record (a
// journal's, an image's) can't make gpucr write a control file anywhere else.
bool CgroupFs::exists(const Cgroup& cg) const {
  if (!path_exists(cg.dir / (cg.version == Version::v1 ? "freezer.state" : "cgroup.freeze"))) return false;
  if (root_ != "/") return true;  // a fixture tree (tests)
  struct statfs sf {};
  if (::statfs(cg.dir.c_str(), &sf) != 0) return false;
  return sf.f_type == CGROUP_SUPER_MAGIC || sf.f_type == CGROUP2_SUPER_MAGIC;
}

Result<State> CgroupFs::state(const Cgroup& cg) const {
  if (cg.version == Version::v1) {
    fs::path f = cg.dir / "freezer.state";
    return parse_v1_state(GPUCR_TRY(read_control(f)), f.string());
  }
  auto freeze = GPUCR_TRY(read_control(cg.dir / "cgroup.freeze"));
  auto events = GPUCR_TRY(read_control(cg.dir / "cgroup.events"));
  return parse_v2_state(freeze, events, cg.dir.string());
}

namespace {

// Polls until `st()` returns `want` or the deadline passes; returns the last state read.
Result<State> wait_for_state(const std::function<Result<State>()>& st, State want, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    State s = GPUCR_TRY(st());
    if (s == want || std::chrono::steady_clock::now() >= deadline) return s;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

}  // namespace

Status CgroupFs::freeze(const Cgroup& cg, std::chrono::milliseconds timeout) {
  GPUCR_TRY(write_control(cg.dir / (cg.version == Version::v1 ? "freezer.state" : "cgroup.freeze"),
                          cg.version == Version::v1 ? "FROZEN" : "1"));
  State s = GPUCR_TRY(wait_for_state([&] { return state(cg); }, State::frozen, timeout));
  if (s == State::frozen) return {};
  return fail(Error(cg.describe() + " did not finish freezing within " + format_duration(timeout) + " (still " +
                    to_string(s) + ")")
                  .with_hint("a task in uninterruptible sleep (state D) delays freezing; see " +
                             (cg.dir / "cgroup.procs").string()));
}

Status CgroupFs::thaw(const Cgroup& cg, std::chrono::milliseconds timeout) {
  auto frozen_ancestor = [&]() -> std::optional<std::string> {
    if (cg.version == Version::v1) {
      auto p = read_file(cg.dir / "freezer.parent_freezing");
      if (p && trim(*p) == "1") return "its parent (freezer.parent_freezing is 1)";
      return std::nullopt;
    }
    for (fs::path d = cg.dir.parent_path(); d != d.parent_path() && path_exists(d / "cgroup.freeze"); d = d.parent_path()) {
      if (auto f = read_file(d / "cgroup.freeze"); f && trim(*f) == "1") return d.string();
    }
    return std::nullopt;
  };
  if (auto a = frozen_ancestor()) {
    return fail(Error(cg.describe() + " can't be thawed: an ancestor cgroup is frozen: " + *a)
                    .with_hint("thaw the ancestor cgroup first (or checkpoint with that cgroup thawed)"));
  }
  GPUCR_TRY(write_control(cg.dir / (cg.version == Version::v1 ? "freezer.state" : "cgroup.freeze"),
                          cg.version == Version::v1 ? "THAWED" : "0"));
  State s = GPUCR_TRY(wait_for_state([&] { return state(cg); }, State::thawed, timeout));
  if (s == State::thawed) return {};
  return fail(Error(cg.describe() + " did not thaw within " + format_duration(timeout) + " (still " + to_string(s) + ")"));
}

}  // namespace gpucr::freezer
