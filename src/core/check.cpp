#include "core/check.hpp"

#include "core/amd_check.hpp"
#include "core/thp_staging.hpp"
#include "criu/locate.hpp"
#include "mm/thp.hpp"
#include "util/strings.hpp"
#include "util/subprocess.hpp"

#include <dlfcn.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <sstream>

namespace gpucr {

const char* to_string(Verdict v) {
  switch (v) {
    case Verdict::ok: return "ok";
    case Verdict::warn: return "warn";
    case Verdict::fail: return "fail";
  }
  return "?";
}

Verdict CheckReport::overall() const {
  Verdict worst = Verdict::ok;
  for (const auto& i : items) worst = std::max(worst, i.verdict);
  return worst;
}

namespace {

CheckItem check_criu(const CheckEnv& env) {
  CheckItem item{"criu"};
  auto bin = criu::locate(env.criu);
  if (!bin) {
    item.verdict = Verdict::fail;
    item.detail = bin.error().what;
    item.hint = bin.error().hint;
    return item;
  }
  item.detail = bin->path.string() + " (from " + bin->source + "), version " + bin->version.str();
  auto out = run_capture(Command{.argv = {bin->path.string(), "check"}}, std::chrono::seconds(60));
  std::string said = out ? std::string(trim(out->out + out->err)) : out.error().what;
  if (!out || !out->status.success()) {
    item.verdict = Verdict::fail;
    item.detail += "; `criu check` failed: " + said.substr(0, 300);
    item.hint = "install a criu that passes `criu check` on this kernel (scripts/install-criu.sh)";
  } else {
    bool good = said.find("Looks good") != std::string::npos;
    item.detail += "; `criu check`: " + (good || said.empty() ? std::string("Looks good.") : said.substr(said.rfind('\n') + 1));
  }
  return item;
}

CheckItem check_kernel() {
  CheckItem item{"kernel"};
  struct utsname u {};
  ::uname(&u);
  item.detail = std::string(u.sysname) + " " + u.release;
  auto parts = split(u.release, '.');
  int major = parts.size() > 0 ? std::atoi(parts[0].c_str()) : 0;
  int minor = parts.size() > 1 ? std::atoi(parts[1].c_str()) : 0;
  if (major < 5 || (major == 5 && minor < 3)) {
    item.verdict = Verdict::fail;
    item.hint = "gpucr needs Linux >= 5.3 (pidfd)";
  }
  return item;
}

CheckItem check_cgroups(const CheckEnv& env) {
  CheckItem item{"cgroups"};
  auto mounts = read_file(env.proc / "self/mountinfo");
  bool v2 = false, v1_freezer = false;
  std::string v2_at;
  for (const auto& line : split(mounts.value_or(""), '\n')) {
    auto sep = line.find(" - ");
    if (sep == std::string::npos) continue;
    auto f = split_ws(line.substr(0, sep));
    auto t = split_ws(line.substr(sep + 3));
    if (f.size() < 5 || t.empty()) continue;
    if (t[0] == "cgroup2") {
      v2 = true;
      v2_at = f[4];
    }
    if (t[0] == "cgroup" && t.size() > 2 && line.find("freezer") != std::string::npos) v1_freezer = true;
  }
  std::vector<std::string> have;
  if (v2) have.push_back("v2 at " + v2_at + " (freezer: cgroup.freeze)");
  if (v1_freezer) have.push_back("v1 freezer");
  item.detail = have.empty() ? "no cgroup freezer found" : join(have, "; ");
  if (have.empty()) {
    item.verdict = Verdict::warn;
    item.hint = "frozen containers can't be handled without a cgroup freezer";
  }
  return item;
}

CheckItem check_privileges(const CheckEnv& env) {
  CheckItem item{"privileges"};
  auto status = read_file(env.proc / "self/status").value_or("");
  unsigned long long cap_eff = 0;
  for (const auto& line : split(status, '\n')) {
    if (line.rfind("CapEff:", 0) == 0) cap_eff = std::strtoull(line.c_str() + 7, nullptr, 16);
  }
  bool sys_admin = cap_eff & (1ULL << 21);
  bool checkpoint_restore = cap_eff & (1ULL << 40);
  item.detail = "euid " + std::to_string(env.euid) + (sys_admin ? ", CAP_SYS_ADMIN" : "") +
                (checkpoint_restore ? ", CAP_CHECKPOINT_RESTORE" : "");
  if (env.euid != 0 || !(sys_admin || checkpoint_restore)) {
    item.verdict = Verdict::fail;
    item.hint = "run gpucr as root";
  }
  return item;
}

CheckItem check_nvidia_driver(const CheckEnv& env) {
  CheckItem item{"nvidia driver"};
  auto v = read_file(env.proc / "driver/nvidia/version");
  if (!v) {
    item.verdict = Verdict::warn;
    item.detail = "not loaded (no " + (env.proc / "driver/nvidia/version").string() + ")";
    item.hint = "only needed to checkpoint CUDA processes";
    return item;
  }
  item.detail = std::string(trim(split(*v, '\n')[0]));
  return item;
}

CheckItem check_cuda_api() {
  CheckItem item{"cuda checkpoint api"};
  void* h = ::dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
  if (!h) {
    item.verdict = Verdict::warn;
    item.detail = "libcuda.so.1 not found";
    item.hint = "only needed to checkpoint CUDA processes (NVIDIA driver >= 570)";
    return item;
  }
  std::vector<std::string> missing;
  for (const char* sym : {"cuCheckpointProcessGetState", "cuCheckpointProcessLock", "cuCheckpointProcessCheckpoint",
                          "cuCheckpointProcessRestore", "cuCheckpointProcessUnlock",
                          "cuCheckpointProcessGetRestoreThreadId"}) {
    if (!::dlsym(h, sym)) missing.push_back(sym);
  }
  ::dlclose(h);
  if (missing.empty()) {
    item.detail = "libcuda.so.1 exports the checkpoint API";
  } else {
    item.verdict = Verdict::warn;
    item.detail = "libcuda.so.1 lacks " + join(missing, ", ");
    item.hint = "update the NVIDIA driver to >= 570 or install cuda-checkpoint";
  }
  return item;
}

// The host's THP mode and what --thp-window would do with it.
CheckItem check_thp(const CheckEnv& env) {
  CheckItem item{"transparent huge pages"};
  mm::SysThp thp(mm::thp_enabled_path(env.sys));
  auto mode = thp.mode();
  if (!mode) {  // optional: the window is an optimization
    item.detail = "mode unknown (" + mode.error().what + "): --thp-window goes on without a window";
    return item;
  }
  item.detail = std::string("mode ") + mm::to_string(*mode);
  switch (*mode) {
    case mm::ThpMode::always: item.detail += " (--thp-window has nothing to change)"; break;
    case mm::ThpMode::madvise: item.detail += " (--thp-window sets `always` while gpucr stages and criu runs)"; break;
    case mm::ThpMode::never: item.detail += " (--thp-window=force sets `always` while gpucr stages and criu runs)"; break;
  }
  item.detail += std::string("; ") + kThpWindowGain;
  return item;
}

CheckItem check_program(const std::string& name, const std::string& why) {
  CheckItem item{name};
  auto p = find_program(name);
  if (p.empty()) {
    item.verdict = Verdict::warn;
    item.detail = "not in PATH";
    item.hint = why;
  } else {
    item.detail = p.string();
  }
  return item;
}

}  // namespace

CheckReport run_checks(const CheckEnv& env) {
  CheckReport r;
  r.items.push_back(check_criu(env));
  r.items.push_back(check_kernel());
  r.items.push_back(check_cgroups(env));
  r.items.push_back(check_privileges(env));
  r.items.push_back(check_nvidia_driver(env));
  r.items.push_back(check_cuda_api());
  r.items.push_back(check_program("cuda-checkpoint", "optional: the driver API is used when libcuda exports it"));
  // Seen on the GPU machine: a runc container with its own network namespace failed to dump
  // with "execvp("iptables-restore", ...) failed" (criu locks the namespace's network with it).
  r.items.push_back(check_program("iptables-restore",
                                  "install iptables: criu runs it to checkpoint a tree with its own network "
                                  "namespace (most containers)"));
  r.items.push_back(check_thp(env));
  for (auto& item : amd_check_items(env)) r.items.push_back(std::move(item));
  return r;
}

nlohmann::json to_json(const CheckReport& r) {
  nlohmann::json j;
  auto& items = j["checks"] = nlohmann::json::array();
  for (const auto& i : r.items) {
    items.push_back({{"name", i.name}, {"verdict", to_string(i.verdict)}, {"detail", i.detail}, {"hint", i.hint}});
  }
  j["verdict"] = to_string(r.overall());
  return j;
}

std::string to_text(const CheckReport& r) {
  std::ostringstream o;
  for (const auto& i : r.items) {
    o << (i.verdict == Verdict::ok ? "ok  " : i.verdict == Verdict::warn ? "warn" : "FAIL") << "  " << i.name
      << std::string(i.name.size() < 20 ? 20 - i.name.size() : 1, ' ') << i.detail << "\n";
    if (!i.hint.empty() && i.verdict != Verdict::ok) o << "      " << std::string(20, ' ') << "-> " << i.hint << "\n";
  }
  Verdict v = r.overall();
  o << "verdict: "
    << (v == Verdict::ok ? "ok" : v == Verdict::warn ? "ok, with warnings (see above)" : "FAIL: this host can't checkpoint")
    << "\n";
  return o.str();
}

}  // namespace gpucr
