// criu/args: the argv vectors gpucr passes to criu dump and criu restore.
#include "criu/args.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

using namespace gpucr;
using ::testing::ElementsAre;
using ::testing::ElementsAreArray;

TEST(CriuArgs, MinimalDump) {
  criu::DumpFlags f;
  f.pid = 1234;
  f.image_dir = "/img";
  f.work_dir = "/work";
  EXPECT_THAT(criu::dump_args(f), ElementsAre("dump", "--tree", "1234", "--images-dir", "/img", "--work-dir", "/work",
                                              "--log-file", "dump.log", "-v2"));
}

TEST(CriuArgs, LogLevelGoesToBothCommands) {
  criu::DumpFlags d;
  d.pid = 1;
  d.log_level = 4;
  criu::RestoreFlags r;
  r.log_level = 0;
  EXPECT_THAT(criu::dump_args(d), ::testing::Contains("-v4"));
  EXPECT_THAT(criu::dump_args(d), ::testing::Not(::testing::Contains("-v2")));
  EXPECT_THAT(criu::restore_args(r), ::testing::Contains("-v0"));
}

TEST(CriuArgs, DumpWithEveryFlag) {
  criu::DumpFlags f;
  f.pid = 7;
  f.image_dir = "/i";
  f.work_dir = "/w";
  f.leave_running = true;
  f.timeout_s = 30;
  f.freeze_cgroup = "/sys/fs/cgroup/freezer/x";
  f.tcp_established = f.shell_job = f.ext_unix_sk = f.file_locks = true;
  f.manage_cgroups_mode = "ignore";
  f.libdir = "/empty";
  f.action_script = "/hook.sh";
  EXPECT_THAT(criu::dump_args(f),
              ElementsAreArray({"dump", "--tree", "7", "--images-dir", "/i", "--work-dir", "/w", "--log-file",
                                "dump.log", "-v2", "--leave-running", "--timeout", "30", "--freeze-cgroup",
                                "/sys/fs/cgroup/freezer/x", "--tcp-established", "--shell-job", "--ext-unix-sk",
                                "--file-locks", "--manage-cgroups=ignore", "--libdir", "/empty", "--action-script",
                                "/hook.sh"}));
}

TEST(CriuArgs, DefaultRestoreIsDetachedSibling) {
  criu::RestoreFlags f;
  f.image_dir = "/img";
  f.work_dir = "/img";
  EXPECT_THAT(criu::restore_args(f), ElementsAre("restore", "--images-dir", "/img", "--work-dir", "/img", "--log-file",
                                                 "restore.log", "-v2", "--restore-detached", "--restore-sibling"));
}

TEST(CriuArgs, RestoreWithPidfileAndFlags) {
  criu::RestoreFlags f;
  f.image_dir = "/i";
  f.work_dir = "/w";
  f.detach = false;
  f.sibling = false;
  f.pidfile = "/w/restore.pid";
  f.shell_job = true;
  f.file_locks = true;
  EXPECT_THAT(criu::restore_args(f), ElementsAre("restore", "--images-dir", "/i", "--work-dir", "/w", "--log-file",
                                                 "restore.log", "-v2", "--pidfile", "/w/restore.pid", "--shell-job",
                                                 "--file-locks"));
}
