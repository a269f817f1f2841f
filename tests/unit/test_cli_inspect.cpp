// cli/inspect: `gpucr inspect DIR [--json]` -> InspectCommand.
#include "cli/commands.hpp"
#include "cli_parse.hpp"

#include <gtest/gtest.h>

using namespace gpucr;
using namespace gpucr::cli;
using gpucr::fakes::parse;

TEST(CliInspect, PositionalDirAndJson) {
  CLI::App app{"gpucr"};
  Action action;
  auto cmd = add_inspect(app, action);
  parse(app, {"inspect", "/img", "--json"});
  EXPECT_EQ(cmd->dir, "/img");
  EXPECT_TRUE(cmd->json);
  EXPECT_TRUE(static_cast<bool>(action));
}

TEST(CliInspect, TextByDefault) {
  CLI::App app{"gpucr"};
  Action action;
  auto cmd = add_inspect(app, action);
  parse(app, {"inspect", "/img"});
  EXPECT_FALSE(cmd->json);
}

TEST(CliInspect, MissingDirIsAParseError) {
  CLI::App app{"gpucr"};
  Action action;
  add_inspect(app, action);
  EXPECT_THROW(parse(app, {"inspect"}), CLI::RequiredError);
}
