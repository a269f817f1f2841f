// cli/checkpoint: `gpucr checkpoint` options -> CheckpointCommand.
#include "cli/commands.hpp"
#include "cli_parse.hpp"

#include <gtest/gtest.h>

using namespace gpucr;
using namespace gpucr::cli;
using gpucr::fakes::parse;

namespace {
struct Parsed {
  CLI::App app{"gpucr"};
  Action action;
  std::shared_ptr<CheckpointCommand> cmd = add_checkpoint(app, action);
};
}  // namespace

TEST(CliCheckpoint, RequiredAndDefaultOptions) {
  Parsed p;
  parse(p.app, {"checkpoint", "--pid", "4100", "--image-dir", "/img"});
  const auto& o = p.cmd->core;
  EXPECT_EQ(o.pid, 4100);
  EXPECT_EQ(o.image_dir, "/img");
  EXPECT_FALSE(o.work_dir.has_value());
  EXPECT_FALSE(o.leave_running);
  EXPECT_FALSE(o.criu.timeout_s.has_value());
  EXPECT_FALSE(o.criu.tcp_established || o.criu.shell_job || o.criu.ext_unix_sk ||
               o.criu.file_locks);
  EXPECT_FALSE(p.cmd->criu.has_value());
  EXPECT_FALSE(p.cmd->json);
  EXPECT_TRUE(static_cast<bool>(p.action));
}

TEST(CliCheckpoint, EveryOption) {
  Parsed p;
  parse(p.app, {"checkpoint", "--pid=7", "--image-dir", "/i", "--work-dir", "/w", "--leave-running",
                "--tcp-established", "--shell-job", "--ext-unix-sk", "--file-locks", "--timeout", "30", "--criu",
                "/opt/criu", "--json"});
  const auto& o = p.cmd->core;
  EXPECT_EQ(o.pid, 7);
  EXPECT_EQ(o.work_dir, fs::path("/w"));
  EXPECT_TRUE(o.leave_running);
  EXPECT_TRUE(o.criu.tcp_established);
  EXPECT_TRUE(o.criu.shell_job);
  EXPECT_TRUE(o.criu.ext_unix_sk);
  EXPECT_TRUE(o.criu.file_locks);
  EXPECT_EQ(o.criu.timeout_s, 30);
  EXPECT_EQ(p.cmd->criu, fs::path("/opt/criu"));
  EXPECT_TRUE(p.cmd->json);
}

TEST(CliCheckpoint, RuncStyleAliases) {
  Parsed p;
  parse(p.app, {"checkpoint", "-t", "9", "--image-path", "/i", "--work-path", "/w", "-R"});
  EXPECT_EQ(p.cmd->core.pid, 9);
  EXPECT_EQ(p.cmd->core.image_dir, "/i");
  EXPECT_EQ(p.cmd->core.work_dir, fs::path("/w"));
  EXPECT_TRUE(p.cmd->core.leave_running);

  Parsed q;
  parse(q.app, {"checkpoint", "--tree", "10", "-D", "/d", "-W", "/x"});
  EXPECT_EQ(q.cmd->core.pid, 10);
  EXPECT_EQ(q.cmd->core.image_dir, "/d");
  EXPECT_EQ(q.cmd->core.work_dir, fs::path("/x"));
}

TEST(CliCheckpoint, MissingRequiredOptionsAreParseErrors) {
  {
    Parsed p;
    EXPECT_THROW(parse(p.app, {"checkpoint", "--image-dir", "/i"}), CLI::ValidationError);  // neither --pid nor CONTAINER
  }
  {
    Parsed p;
    EXPECT_THROW(parse(p.app, {"checkpoint", "--pid", "1"}), CLI::ValidationError);  // no --image-dir, no --export
  }
}

TEST(CliCheckpoint, BadValuesAreParseErrors) {
  for (std::vector<std::string> args : {std::vector<std::string>{"checkpoint", "--pid", "abc", "-D", "/i"},
                                        {"checkpoint", "--pid", "1", "-D", "/i", "--timeout", "0"},
                                        {"checkpoint", "--pid", "1", "-D", "/i", "--bogus"}}) {
    Parsed p;
    EXPECT_THROW(parse(p.app, args), CLI::ParseError) << args.back();
  }
}

TEST(CliCheckpoint, ExportMakesTheImageDirOptional) {
  Parsed p;
  parse(p.app, {"checkpoint", "--pid", "5", "--export", "/tmp/a.tar.zst"});
  EXPECT_EQ(p.cmd->export_file, "/tmp/a.tar.zst");
  EXPECT_EQ(p.cmd->compress, "zstd");  // podman's default
  EXPECT_TRUE(p.cmd->core.image_dir.empty());
  Parsed q;
  parse(q.app, {"checkpoint", "--pid", "5", "-D", "/i", "--export", "-", "--compress", "gzip"});
  EXPECT_EQ(q.cmd->export_file, "-");
  EXPECT_EQ(q.cmd->compress, "gzip");
  EXPECT_EQ(q.cmd->core.image_dir, "/i");
  Parsed r;
  EXPECT_THROW(parse(r.app, {"checkpoint", "--pid", "5", "--export", "/a", "--compress", "xz"}), CLI::ValidationError);
}

TEST(CliCheckpoint, ThpWindowIsOffOnOrForce) {
  auto window = [](std::vector<std::string> extra) {
    Parsed p;
    std::vector<std::string> args{"checkpoint", "--pid", "7", "--image-dir", "/i"};
    args.insert(args.end(), extra.begin(), extra.end());
    parse(p.app, args);
    return p.cmd->core.thp_window;
  };
  EXPECT_EQ(window({}), mm::ThpWindow::off);
  EXPECT_EQ(window({"--thp-window"}), mm::ThpWindow::on);
  EXPECT_EQ(window({"--thp-window=force"}), mm::ThpWindow::force);
  EXPECT_THROW(window({"--thp-window=always"}), CLI::ParseError);
}
