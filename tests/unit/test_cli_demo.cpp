// cli/demo: `gpucr demo` options -> DemoCommand, and the hidden workload subcommand.
#include "cli/commands.hpp"
#include "cli_parse.hpp"

#include <gtest/gtest.h>

using namespace gpucr;
using namespace gpucr::cli;
using gpucr::fakes::parse;

TEST(CliDemo, Defaults) {
  CLI::App app{"gpucr"};
  Action action;
  auto cmd = add_demo(app, action);
  parse(app, {"demo"});
  EXPECT_EQ(cmd->mib, 256u);
  EXPECT_FALSE(cmd->image_dir.has_value());
  EXPECT_FALSE(cmd->criu.has_value());
  EXPECT_FALSE(cmd->json);
  EXPECT_TRUE(static_cast<bool>(action));
}

TEST(CliDemo, EveryOption) {
  CLI::App app{"gpucr"};
  Action action;
  auto cmd = add_demo(app, action);
  parse(app, {"demo", "--mib", "64", "--image-dir", "/i", "--criu", "/c", "--json"});
  EXPECT_EQ(cmd->mib, 64u);
  EXPECT_EQ(cmd->image_dir, fs::path("/i"));
  EXPECT_EQ(cmd->criu, fs::path("/c"));
  EXPECT_TRUE(cmd->json);
}

TEST(CliDemo, ZeroMibIsAParseError) {
  CLI::App app{"gpucr"};
  Action action;
  add_demo(app, action);
  EXPECT_THROW(parse(app, {"demo", "--mib", "0"}), CLI::ParseError);
}

TEST(CliDemo, WorkloadSubcommandNeedsADir) {
  CLI::App app{"gpucr"};
  Action action;
  add_demo(app, action);
  EXPECT_THROW(parse(app, {"__demo-workload"}), CLI::RequiredError);
}
