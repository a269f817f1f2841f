// The freezer's parsers (src/freezer/cgroup_fs.cpp), driven the way CgroupFs::find() and
// CgroupFs::state() drive them: /proc/PID/cgroup (parse_proc_cgroup) and /proc/self/mountinfo
// (parse_mountinfo, with its \ooo escapes) read from a private root, each freezer line mapped
// through the mounts (map_to_mount), then the control files of the cgroup found (parse_v1_state,
// parse_v2_state). Input: four parts separated by kPartSeparator: the cgroup file, mountinfo,
// freezer.state / cgroup.freeze, cgroup.events. The control files exist in the private root at
// sys/fs/cgroup/freezer/a (v1) and sys/fs/cgroup/a (v2); find() only reads.
#include "freezer/cgroup_fs.hpp"
#include "fuzz_support.hpp"

using namespace gpucr;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, size_t size) {
  static const fs::path root = fuzz::private_dir() / "root";
  auto parts = fuzz::split_at(fuzz::as_text(data, size), fuzz::kPartSeparator);
  parts.resize(4);

  // The pure parsers, as find() calls them, and map_to_mount over every pair.
  auto lines = freezer::parse_proc_cgroup(parts[0], "cgroup");
  auto mounts = freezer::parse_mountinfo(parts[1], "mountinfo");
  if (lines && mounts) {
    for (const auto& l : *lines) {
      FUZZ_CHECK(!l.path.empty() && l.path.front() == '/');
      for (const auto& m : *mounts) {
        if (auto dir = freezer::map_to_mount(m, l.path)) FUZZ_CHECK(dir->compare(0, m.mount_point.size(), m.mount_point) == 0);
      }
    }
  }
  (void)freezer::parse_v1_state(parts[2], "freezer.state");
  (void)freezer::parse_v2_state(parts[2], parts[3], "cgroup");

  // find() over a private root holding the same files.
  fuzz::put(root / "proc/1/cgroup", parts[0]);
  fuzz::put(root / "proc/self/mountinfo", parts[1]);
  fuzz::put(root / "sys/fs/cgroup/freezer/a/freezer.state", parts[2]);
  fuzz::put(root / "sys/fs/cgroup/a/cgroup.freeze", parts[2]);
  fuzz::put(root / "sys/fs/cgroup/a/cgroup.events", parts[3]);
  freezer::CgroupFs fz(root);
  auto found = fz.find(1);
  if (!found) {
    FUZZ_CHECK(found.error().exit == Exit::bad_input);
    return 0;
  }
  FUZZ_CHECK(found->cgroup.has_value() != !found->none_reason.empty());
  if (found->cgroup) {
    (void)found->cgroup->describe();
    (void)fz.state(*found->cgroup);
  }
  return 0;
}
