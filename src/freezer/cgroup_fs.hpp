// CgroupFs: the real Freezer, reading /proc/PID/cgroup and /proc/self/mountinfo and writing the
// control files under the cgroup mounts.
//
// Discovery of a pid's freezer cgroup:
//   v1: the line of /proc/PID/cgroup whose controller list has `freezer` ("6:freezer:/a/b"),
//       mapped through the `cgroup` mount whose super options name `freezer`;
//   v2: the line "0::/a/b", mapped through the `cgroup2` mount (it must have cgroup.freeze).
// A mount whose root is not "/" (a bind mount of a sub-tree) shows the cgroups below its root:
// DIR = mount point + (path - mount root). A path in the root cgroup ("/") is no freezer cgroup.
// When the pid has a non-root cgroup in both (hybrid hosts), the one that counts as frozen
// wins, else v1 (what runc and containerd use on such hosts).
//
// Everything is read under `root` ("/" on a host; a fixture tree in unit tests):
//   ROOT/proc/PID/cgroup, ROOT/proc/self/mountinfo, ROOT/<mount point>/...
#pragma once

#include "freezer/freezer.hpp"

#include <string_view>
#include <vector>

namespace gpucr::freezer {

class CgroupFs : public Freezer {
 public:
  explicit CgroupFs(fs::path root = "/") : root_(std::move(root)) {}
  Result<Lookup> find(pid_t pid) const override;
  Result<Cgroup> at(const fs::path& dir) const override;
  bool exists(const Cgroup& cg) const override;
  Result<State> state(const Cgroup& cg) const override;
  Status freeze(const Cgroup& cg, std::chrono::milliseconds timeout) override;
  Status thaw(const Cgroup& cg, std::chrono::milliseconds timeout) override;

 private:
  fs::path under_root(const fs::path& abs) const;
  fs::path root_;
};

// One line of /proc/PID/cgroup: "ID:CONTROLLERS:PATH" (v2: "0::PATH").
struct CgroupLine {
  int id = 0;
  std::vector<std::string> controllers;  // "freezer", "cpu", "name=systemd"; empty for v2
  std::string path;
};

// One line of /proc/PID/mountinfo, the fields gpucr needs (escapes like \040 decoded).
struct MountEntry {
  std::string root;         // the mount's root inside its file system
  std::string mount_point;  // absolute
  std::string fstype;       // "cgroup", "cgroup2", ...
  std::vector<std::string> super_options;
};

// Parsers (exposed for tests). `name` names the file in errors (bad_input).
Result<std::vector<CgroupLine>> parse_proc_cgroup(std::string_view text, const std::string& name);
Result<std::vector<MountEntry>> parse_mountinfo(std::string_view text, const std::string& name);
// The directory under `m` that shows cgroup `path`; nullopt when the mount does not show it.
std::optional<std::string> map_to_mount(const MountEntry& m, std::string_view path);
// State from the text of v1 freezer.state, or of v2 cgroup.freeze and cgroup.events.
Result<State> parse_v1_state(std::string_view text, const std::string& name);
Result<State> parse_v2_state(std::string_view freeze, std::string_view events, const std::string& name);

}  // namespace gpucr::freezer
