// hooks/hooks_file: gpucr's hooks.d files (oci-hooks 1.0.0).
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

TEST(HooksFile, WritesOneOciHooks100FilePerStageThatIsRecognisedForItsStageOnly) {
  auto files = hooks::hook_files("/usr/bin/gpucr", "/run/gpucr");
  ASSERT_EQ(files.size(), 2u);
  EXPECT_EQ(files[0].name, "90-gpucr-prestart.json");
  auto j = nlohmann::json::parse(files[0].content);
  EXPECT_EQ(j["version"], "1.0.0");
  EXPECT_EQ(j["hook"]["path"], "/usr/bin/gpucr");
  EXPECT_EQ(j["hook"]["args"], nlohmann::json::array({"gpucr", "hook", "prestart"}));
  EXPECT_EQ(j["when"]["always"], true);
  EXPECT_EQ(j["stages"], nlohmann::json::array({"prestart"}));
  EXPECT_FALSE(j["hook"].contains("env"));
  EXPECT_TRUE(hooks::is_gpucr_hook_file(files[0].content, "prestart"));
  EXPECT_FALSE(hooks::is_gpucr_hook_file(files[0].content, "poststop"));
  EXPECT_TRUE(hooks::is_gpucr_hook_file(files[1].content, "poststop"));
  EXPECT_FALSE(hooks::is_gpucr_hook_file(R"({"hook":{"args":["other"]},"stages":["prestart"]})", "prestart"));
  EXPECT_FALSE(hooks::is_gpucr_hook_file("garbage", "prestart"));
}

TEST(HooksFile, NonDefaultRunDirGoesIntoTheHooksEnvironment) {
  auto files = hooks::hook_files("/usr/bin/gpucr", "/tmp/r");
  auto j = nlohmann::json::parse(files[1].content);
  EXPECT_EQ(j["hook"]["env"], nlohmann::json::array({"GPUCR_RUN_DIR=/tmp/r"}));
}
