// cli/app: the whole command line: exit codes of usage errors, --version, `gpucr version`.
#include "cli/commands.hpp"
#include "cli/output.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

using namespace gpucr;

namespace {
int run_cli(std::vector<std::string> args) {
  args.insert(args.begin(), "gpucr");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  return cli::run(static_cast<int>(argv.size()), argv.data());
}
}  // namespace

TEST(CliApp, UsageErrorsExit2) {
  ::testing::internal::CaptureStderr();
  ::testing::internal::CaptureStdout();
  EXPECT_EQ(run_cli({}), 2);                                     // no subcommand
  EXPECT_EQ(run_cli({"frobnicate"}), 2);                         // unknown subcommand
  EXPECT_EQ(run_cli({"checkpoint", "--image-dir", "/i"}), 2);    // neither --pid nor CONTAINER
  EXPECT_EQ(run_cli({"--log-level", "loud", "version"}), 2);     // bad global option value
  ::testing::internal::GetCapturedStdout();
  std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("give exactly one of --pid PID or CONTAINER"), std::string::npos) << err;
  EXPECT_NE(err.find("invalid --log-level 'loud'"), std::string::npos) << err;
}

TEST(CliApp, VersionAndHelpExit0) {
  ::testing::internal::CaptureStdout();
  EXPECT_EQ(run_cli({"version"}), 0);
  EXPECT_EQ(run_cli({"--version"}), 0);
  EXPECT_EQ(run_cli({"--help"}), 0);
  EXPECT_EQ(run_cli({"checkpoint", "--help"}), 0);
  std::string out = ::testing::internal::GetCapturedStdout();
  EXPECT_NE(out.find("gpucr 0."), std::string::npos) << out;
  EXPECT_NE(out.find("--image-path"), std::string::npos) << out;
  EXPECT_NE(out.find("Exit codes"), std::string::npos) << out;
}

TEST(CliOutput, PhaseTableKeepsLongNamesApartFromTheirDurations) {
  using std::chrono::milliseconds;
  std::string t = cli::phase_table({{"criu dump", milliseconds(366), true},
                                    {"find restored processes", milliseconds(0), true},
                                    {"gpu restore", milliseconds(12), false}});
  EXPECT_NE(t.find("  find restored processes  0ms\n"), std::string::npos) << t;
  EXPECT_NE(t.find("  criu dump                366ms\n"), std::string::npos) << t;
  EXPECT_NE(t.find("  gpu restore              12ms  FAILED\n"), std::string::npos) << t;
}
