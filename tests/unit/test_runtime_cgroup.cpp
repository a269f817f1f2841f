// runtime/cgroup: a process's freezer and unified cgroup paths.
#include "container_fakes.hpp"
#include "hooks/gpu_presence.hpp"
#include "hooks/hooks_file.hpp"
#include "hooks/oci_state.hpp"
#include "runtime/bundle.hpp"
#include "runtime/cgroup.hpp"
#include "runtime/runtime.hpp"
#include "util/file.hpp"

#include <gtest/gtest.h>
#include <fcntl.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

using namespace gpucr;
using gpucr::ctrtest::TempDir;

TEST(Cgroups, ReadsFreezerAndUnifiedPathsOfProcCgroup) {
  auto c = runtime::parse_proc_cgroup("9:name=systemd:/c1\n6:freezer:/x/c1\n4:memory:/m\n0::/u/c1\n");
  EXPECT_EQ(c.freezer_v1, "/x/c1");
  EXPECT_EQ(c.unified, "/u/c1");
  auto v2 = runtime::parse_proc_cgroup("0::/system.slice/c1.scope\n");
  EXPECT_EQ(v2.freezer_v1, "");
  EXPECT_EQ(v2.unified, "/system.slice/c1.scope");
}
