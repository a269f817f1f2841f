// The cgroups a container's processes live in, from /proc/PID/cgroup of its init process:
//   "6:freezer:/ctr1"      cgroup v1: hierarchy-id:controllers:path
//   "0::/ctr1"             cgroup v2 (the unified hierarchy)
// Paths are relative to the hierarchy's mount (/sys/fs/cgroup/freezer, /sys/fs/cgroup/unified
// on hybrid hosts, /sys/fs/cgroup on pure v2 hosts).
#pragma once

#include <string>
#include <string_view>

namespace gpucr::runtime {

struct CgroupPaths {
  std::string freezer_v1;  // empty: no v1 freezer hierarchy
  std::string unified;     // empty: no v2 line
};

CgroupPaths parse_proc_cgroup(std::string_view text);

}  // namespace gpucr::runtime
