// cli/check: `gpucr check [--criu PATH] [--json]` -> CheckCommand.
#include "cli/commands.hpp"
#include "cli_parse.hpp"

#include <gtest/gtest.h>

using namespace gpucr;
using namespace gpucr::cli;
using gpucr::fakes::parse;

TEST(CliCheck, Defaults) {
  CLI::App app{"gpucr"};
  Action action;
  auto cmd = add_check(app, action);
  parse(app, {"check"});
  EXPECT_FALSE(cmd->criu.has_value());
  EXPECT_FALSE(cmd->json);
  EXPECT_TRUE(static_cast<bool>(action));
}

TEST(CliCheck, CriuAndJson) {
  CLI::App app{"gpucr"};
  Action action;
  auto cmd = add_check(app, action);
  parse(app, {"check", "--criu", "/c", "--json"});
  EXPECT_EQ(cmd->criu, fs::path("/c"));
  EXPECT_TRUE(cmd->json);
}

TEST(CliCheck, UnknownOptionIsAParseError) {
  CLI::App app{"gpucr"};
  Action action;
  add_check(app, action);
  EXPECT_THROW(parse(app, {"check", "--pid", "1"}), CLI::ParseError);
}
