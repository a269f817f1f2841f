// cli/restore: `gpucr restore` options -> RestoreCommand.
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
  std::shared_ptr<RestoreCommand> cmd = add_restore(app, action);
};
}  // namespace

TEST(CliRestore, Defaults) {
  Parsed p;
  parse(p.app, {"restore", "--image-dir", "/img"});
  EXPECT_EQ(p.cmd->core.image_dir, "/img");
  EXPECT_FALSE(p.cmd->core.detach);
  EXPECT_FALSE(p.cmd->core.pid_file.has_value());
  EXPECT_FALSE(p.cmd->core.work_dir.has_value());
  EXPECT_DOUBLE_EQ(p.cmd->pid_wait_s, 10);
  EXPECT_FALSE(p.cmd->json);
  EXPECT_TRUE(static_cast<bool>(p.action));
}

TEST(CliRestore, EveryOption) {
  Parsed p;
  parse(p.app, {"restore", "--image-dir", "/i", "--work-dir", "/w", "--detach", "--pid-file", "/run/x.pid",
                "--tcp-established", "--shell-job", "--ext-unix-sk", "--file-locks", "--pid-wait", "2.5", "--criu",
                "/c", "--json"});
  EXPECT_EQ(p.cmd->core.work_dir, fs::path("/w"));
  EXPECT_TRUE(p.cmd->core.detach);
  EXPECT_EQ(p.cmd->core.pid_file, fs::path("/run/x.pid"));
  const auto& f = p.cmd->core.criu;
  EXPECT_TRUE(f.tcp_established && f.shell_job && f.ext_unix_sk && f.file_locks);
  EXPECT_DOUBLE_EQ(p.cmd->pid_wait_s, 2.5);
  EXPECT_EQ(p.cmd->criu, fs::path("/c"));
  EXPECT_TRUE(p.cmd->json);
}

TEST(CliRestore, Aliases) {
  Parsed p;
  parse(p.app, {"restore", "--image-path", "/i", "--work-path", "/w", "-d", "--pidfile", "/p"});
  EXPECT_EQ(p.cmd->core.image_dir, "/i");
  EXPECT_EQ(p.cmd->core.work_dir, fs::path("/w"));
  EXPECT_TRUE(p.cmd->core.detach);
  EXPECT_EQ(p.cmd->core.pid_file, fs::path("/p"));

  Parsed q;
  parse(q.app, {"restore", "-D", "/d", "-W", "/x"});
  EXPECT_EQ(q.cmd->core.image_dir, "/d");
  EXPECT_EQ(q.cmd->core.work_dir, fs::path("/x"));
}

TEST(CliRestore, MissingImageDirIsAParseError) {
  Parsed p;
  EXPECT_THROW(parse(p.app, {"restore", "--detach"}), CLI::ValidationError);  // no --image-dir, no --import
}

TEST(CliRestore, PidWaitOutOfRangeIsAParseError) {
  Parsed p;
  EXPECT_THROW(parse(p.app, {"restore", "-D", "/i", "--pid-wait", "-1"}), CLI::ParseError);
}

TEST(CliRestore, ImportMakesTheImageDirOptional) {
  Parsed p;
  parse(p.app, {"restore", "--import", "-", "--device-map", "auto"});
  EXPECT_EQ(p.cmd->import_file, "-");
  EXPECT_TRUE(p.cmd->core.image_dir.empty());
  EXPECT_EQ(p.cmd->core.device_map, "auto");
  Parsed q;
  parse(q.app, {"restore", "--import", "/a.tar", "-D", "/x"});
  EXPECT_EQ(q.cmd->import_file, "/a.tar");
  EXPECT_EQ(q.cmd->core.image_dir, "/x");
}

TEST(CliRestore, ThpWindow) {
  Parsed p;
  parse(p.app, {"restore", "--image-dir", "/img", "--thp-window"});
  EXPECT_EQ(p.cmd->core.thp_window, mm::ThpWindow::on);
  Parsed forced;
  parse(forced.app, {"restore", "--thp-window=force", "--image-dir", "/img"});
  EXPECT_EQ(forced.cmd->core.thp_window, mm::ThpWindow::force);
  Parsed none;
  parse(none.app, {"restore", "--image-dir", "/img"});
  EXPECT_EQ(none.cmd->core.thp_window, mm::ThpWindow::off);
}
