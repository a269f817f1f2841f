// runtime/cli_runtime: parsing `<runtime> state` output.
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

TEST(RuntimeState, ParsesRuncStateOutput) {
  auto s = runtime::parse_state_json(R"({"ociVersion":"1.0.2-dev","id":"c1","pid":12867,"status":"running",
    "bundle":"/b","rootfs":"/b/rootfs","created":"2026-11-22T05:30:10Z","owner":""})", "c1");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->pid, 12867);
  EXPECT_EQ(s->status, "running");
  EXPECT_EQ(s->rootfs, fs::path("/b/rootfs"));
  EXPECT_FALSE(runtime::parse_state_json(R"({"id":"c1","status":"running"})", "c1"));
  EXPECT_FALSE(runtime::parse_state_json(R"({"id":"c1","status":"running","bundle":"/b","pid":"x"})", "c1"));
}
