// Runtime command lines: built for gpucr's own commands, parsed from engines' argv.
#include "runtime/argv.hpp"
#include "runtime/container_id.hpp"

#include <gtest/gtest.h>

using namespace gpucr;
using namespace gpucr::runtime;
using V = std::vector<std::string>;

TEST(RuntimeArgv, CheckpointArgvHasEveryGivenOptionAndTheIdLast) {
  CheckpointArgs a{.id = "c1", .image_path = "/img", .work_path = "/work", .leave_running = true,
                   .tcp_established = true, .file_locks = true, .manage_cgroups_mode = "soft"};
  EXPECT_EQ(checkpoint_argv(a), (V{"checkpoint", "--image-path", "/img", "--work-path", "/work", "--leave-running",
                                   "--tcp-established", "--file-locks", "--manage-cgroups-mode", "soft", "c1"}));
}

TEST(RuntimeArgv, RestoreArgvHasBundleDetachPidFileAndConsoleSocket) {
  RestoreArgs a{.id = "c1", .image_path = "/img", .bundle = "/b", .detach = true, .pid_file = "/p",
                .console_socket = "/s", .shell_job = true};
  EXPECT_EQ(restore_argv(a), (V{"restore", "--bundle", "/b", "--image-path", "/img", "--detach", "--pid-file", "/p",
                                "--console-socket", "/s", "--shell-job", "c1"}));
}

TEST(RuntimeArgv, SplitFindsTheCommandAfterGlobalOptionsOfEveryForm) {
  auto inv = split_invocation({"--root", "/r", "--log=/l", "--log-format", "json", "--systemd-cgroup", "-criu", "/c",
                               "checkpoint", "--image-path", "/i", "c1"});
  ASSERT_TRUE(inv);
  EXPECT_EQ(inv->globals, (V{"--root", "/r", "--log=/l", "--log-format", "json", "--systemd-cgroup", "-criu", "/c"}));
  EXPECT_EQ(inv->command, "checkpoint");
  EXPECT_EQ(inv->command_args, (V{"--image-path", "/i", "c1"}));
  EXPECT_EQ(inv->root, fs::path("/r"));
  EXPECT_EQ(inv->criu, fs::path("/c"));
}

TEST(RuntimeArgv, SplitWithoutCommandLeavesItEmpty) {
  auto inv = split_invocation({"--version"});
  ASSERT_TRUE(inv);
  EXPECT_TRUE(inv->command.empty());
}

TEST(RuntimeArgv, SplitRefusesAnUnknownGlobalOption) {
  EXPECT_FALSE(split_invocation({"--frobnicate", "x", "state", "c1"}));
  EXPECT_FALSE(split_invocation({"--root"}));
}

TEST(RuntimeArgv, ParsesCriOsCheckpointCommandLine) {
  auto r = parse_checkpoint({"--file-locks", "--image-path", "/d/checkpoint", "--work-path", "/d", "--leave-running", "abc"});
  auto* a = std::get_if<CheckpointArgs>(&r);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->id, "abc");
  EXPECT_EQ(a->image_path, fs::path("/d/checkpoint"));
  EXPECT_EQ(a->work_path, fs::path("/d"));
  EXPECT_TRUE(a->leave_running);
  EXPECT_TRUE(a->file_locks);
  EXPECT_FALSE(a->tcp_established);
}

TEST(RuntimeArgv, ParsesConmonsRestoreCommandLine) {
  auto r = parse_restore({"--bundle", "/b", "--pid-file", "/p", "--detach", "--image-path", "/i", "--work-path", "/b",
                          "--tcp-established", "--console-socket", "/s", "ctr"});
  auto* a = std::get_if<RestoreArgs>(&r);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->id, "ctr");
  EXPECT_EQ(a->bundle, fs::path("/b"));
  EXPECT_EQ(a->pid_file, fs::path("/p"));
  EXPECT_TRUE(a->detach);
  EXPECT_TRUE(a->tcp_established);
  EXPECT_EQ(a->console_socket, fs::path("/s"));
}

TEST(RuntimeArgv, AcceptsGoStyleSingleDashEqualsAndBooleanValues) {
  auto r = parse_checkpoint({"-image-path=/i", "--leave-running=false", "-tcp-established", "c1"});
  auto* a = std::get_if<CheckpointArgs>(&r);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->image_path, fs::path("/i"));
  EXPECT_FALSE(a->leave_running);
  EXPECT_TRUE(a->tcp_established);
}

TEST(RuntimeArgv, ShortRestoreAliasesWork) {
  auto r = parse_restore({"-d", "-b", "/b", "c1"});
  auto* a = std::get_if<RestoreArgs>(&r);
  ASSERT_TRUE(a);
  EXPECT_TRUE(a->detach);
  EXPECT_EQ(a->bundle, fs::path("/b"));
}

TEST(RuntimeArgv, HelpMissingValuesAndMissingIdsArePassedThroughSilently) {
  for (const V& args : {V{"--help"}, V{"-h"}, V{"--image-path"}, V{"--leave-running"}, V{"a", "b"}}) {
    auto r = parse_checkpoint(args);
    auto* p = std::get_if<Passthrough>(&r);
    ASSERT_TRUE(p) << args.front();
    EXPECT_FALSE(p->warn);
  }
  // podman's probe for restoring into pods
  auto r = parse_restore({"--lsm-mount-context"});
  ASSERT_TRUE(std::holds_alternative<Passthrough>(r));
  EXPECT_FALSE(std::get<Passthrough>(r).warn);
}

TEST(RuntimeArgv, UnknownOptionsArePassedThroughWithAWarning) {
  auto r = parse_checkpoint({"--brand-new-option", "c1"});
  ASSERT_TRUE(std::holds_alternative<Passthrough>(r));
  EXPECT_TRUE(std::get<Passthrough>(r).warn);
  EXPECT_NE(std::get<Passthrough>(r).reason.find("--brand-new-option"), std::string::npos);
}

TEST(RuntimeArgv, PreDumpIsPassedThrough) {
  EXPECT_TRUE(std::holds_alternative<Passthrough>(parse_checkpoint({"--pre-dump", "--image-path", "/i", "c1"})));
}

TEST(RuntimeArgv, KnownOptionsGpucrIgnoresStillTakeTheirValue) {
  auto r = parse_restore({"--lsm-profile", "selinux:x", "--no-pivot", "c1"});
  auto* a = std::get_if<RestoreArgs>(&r);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->id, "c1");
}

TEST(RuntimeArgv, EffectiveImagePathDefaultsToCheckpointInCwd) {
  EXPECT_EQ(effective_image_path(std::nullopt, "/cwd"), fs::path("/cwd/checkpoint"));
  EXPECT_EQ(effective_image_path(fs::path("img"), "/cwd"), fs::path("/cwd/img"));
  EXPECT_EQ(effective_image_path(fs::path("/abs"), "/cwd"), fs::path("/abs"));
}

TEST(ContainerId, AcceptsRuncsCharacterSetAndEngineIds) {
  const std::vector<std::string> ids = {"c1", "a+b", "a,b", "a.b", "_x", std::string(64, 'f'), "k8s_POD_x-1.2",
                                       std::string(250, 'x')};
  for (const auto& id : ids) {
    EXPECT_TRUE(valid_container_id(id)) << id;
  }
}

TEST(ContainerId, RefusesPathTricksOptionsAndOverlongIds) {
  for (std::string id : {std::string(""), std::string("."), std::string(".."), std::string("../x"), std::string("a/b"),
                         std::string("-rf"), std::string("a b"), std::string("a:b"), std::string("a\nb"),
                         std::string("a\0b", 3), std::string(251, 'x')}) {
    EXPECT_FALSE(valid_container_id(id)) << id;
    auto st = check_container_id(id);
    ASSERT_FALSE(st);
    EXPECT_EQ(st.error().exit, Exit::bad_input);
  }
}

TEST(RuntimeArgv, WithImagePathReplacesEveryImagePathAndKeepsEverythingElse) {
  EXPECT_EQ(runtime::with_image_path({"restore", "--image-path", "/i", "-d", "--bundle", "/b", "c1"}, "/i/v", std::nullopt),
            (V{"restore", "--image-path", "/i/v", "-d", "--bundle", "/b", "c1"}));
  EXPECT_EQ(runtime::with_image_path({"restore", "-image-path=/i", "--work-path", "/w", "c1"}, "/i/v", fs::path("/x")),
            (V{"restore", "--image-path=/i/v", "--work-path", "/w", "c1"}));
  // None given (the runtime's default ./checkpoint): added right after the command word, with
  // the work path that keeps the logs out of the view.
  EXPECT_EQ(runtime::with_image_path({"restore", "--detach", "c1"}, "/c/v", fs::path("/c")),
            (V{"restore", "--image-path", "/c/v", "--work-path", "/c", "--detach", "c1"}));
  // A value that looks like an option stays a value; an option lacking its value is left as is.
  EXPECT_EQ(runtime::with_image_path({"restore", "--pid-file", "--image-path", "c1", "--image-path"}, "/v", std::nullopt),
            (V{"restore", "--image-path", "/v", "--pid-file", "--image-path", "c1", "--image-path"}));
}

// Found by fuzz_runtime_argv (tests/fuzz/corpus/runtime_argv/crash-after-id): parse_restore reads
// options after the id (crun accepts them there), so an --image-path there must be replaced too,
// or the runtime restores from the engine's directory instead of gpucr's view.
TEST(RuntimeArgv, WithImagePathReplacesAnImagePathAfterTheId) {
  V out = runtime::with_image_path({"restore", "c1", "-image-path=/i", "--detach"}, "/i/v", std::nullopt);
  EXPECT_EQ(out, (V{"restore", "c1", "--image-path=/i/v", "--detach"}));
  auto parsed = parse_restore({out.begin() + 1, out.end()});
  ASSERT_TRUE(std::holds_alternative<RestoreArgs>(parsed));
  EXPECT_EQ(std::get<RestoreArgs>(parsed).image_path, fs::path("/i/v"));
  // "--" still ends the options: what follows is not an option.
  EXPECT_EQ(runtime::with_image_path({"restore", "--", "c1", "--image-path", "/x"}, "/v", std::nullopt),
            (V{"restore", "--image-path", "/v", "--", "c1", "--image-path", "/x"}));
}

// fuzz_runtime_argv's same property: an empty --work-path is the runtime's default (the image path, which
// is gpucr's view, removed after the restore); the work path gpucr gives must replace it.
TEST(RuntimeArgv, WithImagePathFillsAnEmptyWorkPath) {
  EXPECT_EQ(runtime::with_image_path({"restore", "--work-path=", "c1"}, "/i/v", fs::path("/i")),
            (V{"restore", "--image-path", "/i/v", "--work-path=/i", "c1"}));
  EXPECT_EQ(runtime::with_image_path({"restore", "--work-path", "", "c1"}, "/i/v", fs::path("/i")),
            (V{"restore", "--image-path", "/i/v", "--work-path", "/i", "c1"}));
  // Without a work path to give (the engine gave one), an empty one stays.
  EXPECT_EQ(runtime::with_image_path({"restore", "--work-path=", "c1"}, "/i/v", std::nullopt),
            (V{"restore", "--image-path", "/i/v", "--work-path=", "c1"}));
}
