// core/check: the host checks, with a fake /proc and /dev and a fake criu.
#include "core/check.hpp"

#include "mm/thp.hpp"
#include "support.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

using namespace gpucr;
using namespace gpucr::fakes;
using ::testing::HasSubstr;

namespace {

struct FakeHost {
  TempDir dir;
  CheckEnv env;
  explicit FakeHost(const std::string& criu_check_output = "Looks good.", int criu_check_code = 0) {
    fs::create_directories(dir / "proc" / "self");
    fs::create_directories(dir / "dev");
    put_file(dir / "proc" / "self" / "mountinfo",
             "30 1 0:26 / /sys/fs/cgroup/unified rw,nosuid - cgroup2 cgroup2 rw\n"
             "31 1 0:27 / /sys/fs/cgroup/freezer rw,nosuid - cgroup cgroup rw,freezer\n");
    put_file(dir / "proc" / "self" / "status", "Name:\tgpucr\nCapEff:\t000001ffffffffff\n");
    fs::path criu = dir / "criu";
    put_file(criu, "#!/bin/sh\nif [ \"$1\" = --version ]; then echo 'Version: 4.1.1'; exit 0; fi\n"
                   "echo '" + criu_check_output + "'\nexit " + std::to_string(criu_check_code) + "\n");
    fs::permissions(criu, fs::perms::owner_all);
    env.criu = criu;
    env.proc = dir / "proc";
    env.dev = dir / "dev";
  }
  const CheckItem& item(const CheckReport& r, const std::string& name) {
    for (const auto& i : r.items) {
      if (i.name == name) return i;
    }
    static CheckItem none{"none", Verdict::fail, "no such item", ""};
    return none;
  }
};

}  // namespace

TEST(CoreCheck, WorkingCriuCgroupsAndPrivilegesAreOk) {
  FakeHost h;
  auto r = run_checks(h.env);
  EXPECT_EQ(h.item(r, "criu").verdict, Verdict::ok);
  EXPECT_THAT(h.item(r, "criu").detail, HasSubstr("version 4.1.1"));
  EXPECT_THAT(h.item(r, "criu").detail, HasSubstr("Looks good."));
  EXPECT_EQ(h.item(r, "cgroups").verdict, Verdict::ok);
  EXPECT_THAT(h.item(r, "cgroups").detail, HasSubstr("v2 at /sys/fs/cgroup/unified"));
  EXPECT_THAT(h.item(r, "cgroups").detail, HasSubstr("v1 freezer"));
  EXPECT_EQ(h.item(r, "privileges").verdict, Verdict::ok);  // the env says euid 0
  EXPECT_THAT(h.item(r, "privileges").detail, HasSubstr("CAP_SYS_ADMIN, CAP_CHECKPOINT_RESTORE"));
  // No NVIDIA driver or /dev/kfd in the fake: warnings, not failures.
  EXPECT_EQ(h.item(r, "nvidia driver").verdict, Verdict::warn);
  EXPECT_EQ(h.item(r, "amd kfd").verdict, Verdict::warn);
  EXPECT_NE(r.overall(), Verdict::fail);
  EXPECT_THAT(to_text(r), HasSubstr("verdict: ok"));
  EXPECT_EQ(to_json(r)["checks"][0]["name"], "criu");
}

TEST(CoreCheck, FailingCriuCheckFailsTheVerdict) {
  FakeHost h("Error (criu/vdso.c:1): vdso: Unexpected rt vDSO area bounds", 1);
  auto r = run_checks(h.env);
  const auto& criu = h.item(r, "criu");
  EXPECT_EQ(criu.verdict, Verdict::fail);
  EXPECT_THAT(criu.detail, HasSubstr("`criu check` failed: Error (criu/vdso.c:1)"));
  EXPECT_EQ(r.overall(), Verdict::fail);
  EXPECT_THAT(to_text(r), HasSubstr("verdict: FAIL"));
  EXPECT_EQ(to_json(r)["verdict"], "fail");
}

TEST(CoreCheck, MissingCriuFailsWithTheHint) {
  FakeHost h;
  h.env.criu = h.dir / "nope";
  auto r = run_checks(h.env);
  EXPECT_EQ(h.item(r, "criu").verdict, Verdict::fail);
  EXPECT_THAT(h.item(r, "criu").detail, HasSubstr("criu not found"));
  EXPECT_THAT(to_text(r), HasSubstr("-> install criu"));
}

TEST(CoreCheck, NoFreezerIsAWarning) {
  FakeHost h;
  put_file(h.dir / "proc" / "self" / "mountinfo", "22 1 0:5 / / rw - ext4 /dev/vda rw\n");
  auto r = run_checks(h.env);
  EXPECT_EQ(h.item(r, "cgroups").verdict, Verdict::warn);
  EXPECT_THAT(h.item(r, "cgroups").detail, HasSubstr("no cgroup freezer found"));
}

TEST(CoreCheck, NvidiaDriverAndKfdAreReported) {
  FakeHost h;
  fs::create_directories(h.dir / "proc" / "driver" / "nvidia");
  put_file(h.dir / "proc" / "driver" / "nvidia" / "version",
           "NVRM version: NVIDIA UNIX x86_64 Kernel Module  580.159.04\nGCC version: 13\n");
  put_file(h.dir / "dev" / "kfd", "");
  auto r = run_checks(h.env);
  EXPECT_EQ(h.item(r, "nvidia driver").verdict, Verdict::ok);
  EXPECT_THAT(h.item(r, "nvidia driver").detail, HasSubstr("580.159.04"));
  // A /dev/kfd that is not the KFD device: present, but its version can't be read.
  EXPECT_NE(h.item(r, "amd kfd").verdict, Verdict::fail);
  EXPECT_THAT(h.item(r, "amd kfd").detail, HasSubstr("kfd"));
}

TEST(CoreCheck, OverallIsTheWorstItem) {
  CheckReport r;
  EXPECT_EQ(r.overall(), Verdict::ok);
  r.items.push_back({"a", Verdict::warn, "", ""});
  EXPECT_EQ(r.overall(), Verdict::warn);
  r.items.push_back({"b", Verdict::fail, "", ""});
  r.items.push_back({"c", Verdict::ok, "", ""});
  EXPECT_EQ(r.overall(), Verdict::fail);
  EXPECT_STREQ(to_string(Verdict::warn), "warn");
}

TEST(CoreCheck, IptablesRestoreIsLookedUpInPath) {
  FakeHost h;
  std::string saved = std::getenv("PATH") ? std::getenv("PATH") : "";
  fs::create_directories(h.dir / "bin");
  ::setenv("PATH", (h.dir / "bin").c_str(), 1);
  auto missing = run_checks(h.env);
  put_file(h.dir / "bin" / "iptables-restore", "#!/bin/sh\n");
  fs::permissions(h.dir / "bin" / "iptables-restore", fs::perms::owner_all);
  auto found = run_checks(h.env);
  ::setenv("PATH", saved.c_str(), 1);
  EXPECT_EQ(h.item(missing, "iptables-restore").verdict, Verdict::warn);
  EXPECT_THAT(h.item(missing, "iptables-restore").hint, HasSubstr("install iptables"));
  EXPECT_EQ(h.item(found, "iptables-restore").verdict, Verdict::ok);
  EXPECT_EQ(h.item(found, "iptables-restore").detail, (h.dir / "bin" / "iptables-restore").string());
}

TEST(CoreCheck, ThpModeAndWhatTheWindowBuys) {
  FakeHost h;
  h.env.sys = h.dir / "sys";
  fs::create_directories(mm::thp_enabled_path(h.env.sys).parent_path());
  put_file(mm::thp_enabled_path(h.env.sys), "always [madvise] never\n");
  auto r = run_checks(h.env);
  const auto& thp = h.item(r, "transparent huge pages");
  EXPECT_EQ(thp.verdict, Verdict::ok);
  EXPECT_THAT(thp.detail, HasSubstr("mode madvise"));
  EXPECT_THAT(thp.detail, HasSubstr("downtime 12.3 -> 9.4 s (GPU checkpoint 3.5 -> 2.5 s, criu dump 3.2 -> 2.8 s"));
  fs::remove(mm::thp_enabled_path(h.env.sys));
  auto none = h.item(run_checks(h.env), "transparent huge pages");  // optional: not a warning
  EXPECT_EQ(none.verdict, Verdict::ok);
  EXPECT_THAT(none.detail, HasSubstr("goes on without a window"));
}
