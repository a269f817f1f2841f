// Fakes for the AMD unit tests: a KFD device, a device-cgroup view of sysfs, a process table,
// a criu runner, and paths to the fixture topologies (tests/fixtures/kfd/README.md).
#pragma once

#include "core/amd_host.hpp"
#include "criu/inventory.hpp"
#include "criu/runner.hpp"
#include "proc/process_table.hpp"

#include <cstdlib>
#include <map>
#include <set>

namespace gpucr::amdtest {

// tests/fixtures/kfd/NAME
// $GPUCR_TEST_FIXTURES (a copy of tests/fixtures, for the unprivileged run of scripts/test.sh),
// else the source tree's.
inline fs::path fixture(const std::string& name) {
  const char* copy = std::getenv("GPUCR_TEST_FIXTURES");
  fs::path root = copy && *copy ? fs::path(copy) : fs::path(GPUCR_SOURCE_DIR) / "tests/fixtures";
  return root / "kfd" / name;
}

class FakeKfd : public amd::Kfd {
 public:
  bool exists = true;
  Result<amd::KfdVersion> answer = amd::KfdVersion{1, 14};
  mutable int calls = 0;

  const fs::path& path() const override { return path_; }
  bool present() const override { return exists; }
  Result<amd::KfdVersion> version() const override {
    ++calls;
    return answer;
  }

 private:
  fs::path path_ = "/dev/kfd";
};

// Real files, except that every file under a denied directory fails to read with EPERM, as
// the kernel answers for a GPU the device cgroup hides (directories still list). Paths that
// `extra` holds exist with that content (e.g. /proc/self/status, /dev/dri/renderD128).
class DenyingFiles : public amd::Files {
 public:
  std::vector<fs::path> denied;
  std::map<fs::path, std::string> extra;

  Result<std::string> read(const fs::path& p) const override {
    if (auto it = extra.find(p); it != extra.end()) return it->second;
    for (const auto& d : denied) {
      auto rel = p.lexically_relative(d);
      if (!rel.empty() && *rel.begin() != "..") return fail(sys_error("cannot open " + p.string(), EPERM));
    }
    return disk_.read(p);
  }
  Result<std::vector<std::string>> list(const fs::path& dir) const override { return disk_.list(dir); }
  bool exists(const fs::path& p) const override { return extra.count(p) || disk_.exists(p); }

 private:
  amd::DiskFiles disk_;
};

// A process table held in memory.
class FakeProcs : public proc::ProcessTable {
 public:
  struct Proc {
    proc::ProcInfo info;
    std::vector<proc::FdEntry> fds;
    std::vector<std::string> maps;
  };
  std::map<pid_t, Proc> procs;

  void add(pid_t pid, pid_t ppid, std::vector<proc::FdEntry> fds = {}, std::vector<std::string> maps = {}) {
    Proc p;
    p.info.pid = pid;
    p.info.ppid = ppid;
    p.info.state = 'S';
    p.info.comm = "proc" + std::to_string(pid);
    p.info.start_time = 1000 + static_cast<std::uint64_t>(pid);
    p.info.nspid = {pid};
    p.fds = std::move(fds);
    p.maps = std::move(maps);
    procs[pid] = std::move(p);
  }

  Result<proc::ProcInfo> info(pid_t pid) const override {
    if (auto it = procs.find(pid); it != procs.end()) return it->second.info;
    return fail(Error("process " + std::to_string(pid) + " does not exist", Exit::bad_input));
  }
  Result<std::vector<pid_t>> children(pid_t pid) const override {
    std::vector<pid_t> out;
    for (const auto& [p, v] : procs) {
      if (v.info.ppid == pid) out.push_back(p);
    }
    return out;
  }
  Result<std::vector<pid_t>> all_pids() const override {
    std::vector<pid_t> out;
    for (const auto& [p, v] : procs) out.push_back(p);
    return out;
  }
  Result<std::vector<proc::FdEntry>> fds(pid_t pid) const override {
    GPUCR_TRY(info(pid));
    return procs.at(pid).fds;
  }
  Result<std::vector<std::string>> mapped_files(pid_t pid) const override {
    GPUCR_TRY(info(pid));
    return procs.at(pid).maps;
  }
  Result<std::string> cgroup(pid_t) const override { return std::string("0::/\n"); }
  Result<std::string> pid_namespace(pid_t) const override { return std::string("pid:[4026531836]"); }
};

// Records each criu run: its argv, environment, and the names in its --libdir at that moment.
// Writes PIDFILE for a restore. Succeeds unless `exit_code` is set.
class RecordingRunner : public criu::Runner {
 public:
  struct Run {
    std::vector<std::string> args;
    std::map<std::string, std::string> env;
    std::optional<fs::path> libdir;
    std::vector<std::string> libdir_entries;          // names
    std::map<std::string, fs::path> libdir_targets;   // name -> symlink target
  };
  std::vector<Run> runs;
  int exit_code = 0;
  std::function<void()> on_restore;  // e.g. makes the restored root exist in a fake process table

  const criu::Binary& binary() const override { return bin_; }
  Result<criu::Outcome> run(const criu::Invocation& inv, const std::function<void(pid_t)>&) override {
    Run r{inv.args, inv.env, {}, {}, {}};
    for (size_t i = 0; i + 1 < inv.args.size(); ++i) {
      if (inv.args[i] == "--libdir") r.libdir = inv.args[i + 1];
      // A successful dump leaves an inventory (criu >= 4.1 writes an empty plugins field).
      if (inv.args[i] == "--images-dir" && inv.args[0] == "dump" && exit_code == 0) {
        criu::Inventory inventory;
        inventory.entry.set_img_version(2);
        inventory.set_plugins({});
        (void)criu::write_inventory(inv.args[i + 1], inventory);
      }
      if (inv.args[i] == "--pidfile") {
        (void)write_file_atomic(inv.args[i + 1], "4242\n", 0644);
        if (on_restore && exit_code == 0) on_restore();
      }
    }
    if (r.libdir) {
      for (const auto& e : fs::directory_iterator(*r.libdir)) {
        r.libdir_entries.push_back(e.path().filename().string());
        if (e.is_symlink()) r.libdir_targets[e.path().filename().string()] = fs::read_symlink(e.path());
      }
    }
    runs.push_back(std::move(r));
    criu::Outcome out;
    out.status.code = exit_code;
    return out;
  }

 private:
  criu::Binary bin_{"/usr/bin/criu-fake", {4, 1, 1}, "test"};
};

}  // namespace gpucr::amdtest
