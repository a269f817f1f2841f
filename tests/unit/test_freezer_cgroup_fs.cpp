// CgroupFs on fixture trees (ROOT/proc/..., ROOT/sys/fs/cgroup/...) and its parsers.
#include "freezer/cgroup_fs.hpp"
#include "scratch_dir.hpp"

#include <gtest/gtest.h>

using namespace gpucr;
using namespace gpucr::freezer;
using gpucr::fakes::ScratchDir;

namespace {

constexpr const char* kHybridMounts =
    "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
    "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime shared:9 - cgroup cgroup rw,cpu\n"
    "37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime shared:14 - cgroup cgroup rw,freezer\n"
    "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";

// A host like the CI VM: v1 freezer and v2 unified side by side.
struct Fixture {
  ScratchDir root;
  CgroupFs fz{root.path()};

  Fixture(const std::string& mounts = kHybridMounts) { root.write("proc/self/mountinfo", mounts); }
  void pid(pid_t p, const std::string& cgroup_file) { root.write("proc/" + std::to_string(p) + "/cgroup", cgroup_file); }
  fs::path v1(const std::string& path, const std::string& state) {
    return root.write("sys/fs/cgroup/freezer" + path + "/freezer.state", state + "\n").parent_path();
  }
  fs::path v2(const std::string& path, const std::string& freeze, const std::string& frozen) {
    root.write("sys/fs/cgroup/unified" + path + "/cgroup.events", "populated 1\nfrozen " + frozen + "\n");
    return root.write("sys/fs/cgroup/unified" + path + "/cgroup.freeze", freeze + "\n").parent_path();
  }
};

TEST(CgroupFs, FindsTheV1FreezerCgroupThroughMountinfo) {
  Fixture f;
  f.pid(42, "9:name=systemd:/\n6:freezer:/ctr\n1:cpu:/\n0::/\n");
  fs::path dir = f.v1("/ctr", "THAWED");
  auto l = f.fz.find(42);
  ASSERT_TRUE(l.ok()) << l.error().what;
  ASSERT_TRUE(l->cgroup);
  EXPECT_EQ(l->cgroup->version, Version::v1);
  EXPECT_EQ(l->cgroup->path, "/ctr");
  EXPECT_EQ(l->cgroup->dir, dir);
  EXPECT_EQ(*f.fz.state(*l->cgroup), State::thawed);
}

TEST(CgroupFs, FindsTheV2CgroupWhenV1FreezerIsAtTheRoot) {
  Fixture f;
  f.pid(42, "6:freezer:/\n0::/gpucr/job\n");
  fs::path dir = f.v2("/gpucr/job", "1", "1");
  auto l = f.fz.find(42);
  ASSERT_TRUE(l.ok() && l->cgroup);
  EXPECT_EQ(l->cgroup->version, Version::v2);
  EXPECT_EQ(l->cgroup->dir, dir);
  EXPECT_EQ(*f.fz.state(*l->cgroup), State::frozen);
}

TEST(CgroupFs, HybridHostPrefersTheHierarchyThatIsFrozen) {
  Fixture f;
  f.pid(42, "6:freezer:/a\n0::/b\n");
  f.v1("/a", "THAWED");
  fs::path b = f.v2("/b", "1", "0");  // FREEZING counts as frozen
  auto l = f.fz.find(42);
  ASSERT_TRUE(l.ok() && l->cgroup);
  EXPECT_EQ(l->cgroup->dir, b);
}

TEST(CgroupFs, HybridHostPrefersV1WhenNeitherIsFrozen) {
  Fixture f;
  f.pid(42, "6:freezer:/a\n0::/b\n");
  fs::path a = f.v1("/a", "THAWED");
  f.v2("/b", "0", "0");
  auto l = f.fz.find(42);
  ASSERT_TRUE(l.ok() && l->cgroup);
  EXPECT_EQ(l->cgroup->dir, a);
}

TEST(CgroupFs, PidInTheRootCgroupHasNoFreezerAndSaysWhy) {
  Fixture f;
  f.pid(42, "6:freezer:/\n4:memory:/x\n0::/\n");
  auto l = f.fz.find(42);
  ASSERT_TRUE(l.ok());
  EXPECT_FALSE(l->cgroup);
  EXPECT_NE(l->none_reason.find("pid 42"), std::string::npos) << l->none_reason;
  EXPECT_NE(l->none_reason.find("v1 freezer:/ is the root cgroup"), std::string::npos) << l->none_reason;
  EXPECT_NE(l->none_reason.find("v2 0::/ is the root cgroup"), std::string::npos) << l->none_reason;
}

TEST(CgroupFs, V2CgroupWithoutCgroupFreezeIsNoFreezer) {
  Fixture f;
  f.pid(42, "0::/old\n");
  f.root.write("sys/fs/cgroup/unified/old/cgroup.procs", "42\n");
  auto l = f.fz.find(42);
  ASSERT_TRUE(l.ok());
  EXPECT_FALSE(l->cgroup);
  EXPECT_NE(l->none_reason.find("has no cgroup.freeze"), std::string::npos) << l->none_reason;
  EXPECT_NE(l->none_reason.find("no v1 freezer controller"), std::string::npos) << l->none_reason;
}

TEST(CgroupFs, MountOfASubtreeMapsThroughItsRoot) {
  Fixture f("50 1 0:34 /kubepods /sys/fs/cgroup/freezer rw - cgroup cgroup rw,freezer\n");
  f.pid(42, "6:freezer:/kubepods/pod1\n");
  f.pid(43, "6:freezer:/other\n");
  fs::path dir = f.root.write("sys/fs/cgroup/freezer/pod1/freezer.state", "FROZEN\n").parent_path();
  auto l = f.fz.find(42);
  ASSERT_TRUE(l.ok() && l->cgroup);
  EXPECT_EQ(l->cgroup->dir, dir);
  auto other = f.fz.find(43);
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE(other->cgroup);
  EXPECT_NE(other->none_reason.find("not visible"), std::string::npos) << other->none_reason;
}

TEST(CgroupFs, MissingPidIsBadInput) {
  Fixture f;
  auto l = f.fz.find(4242);
  ASSERT_FALSE(l.ok());
  EXPECT_EQ(l.error().exit, Exit::bad_input);
  EXPECT_NE(l.error().what.find("4242"), std::string::npos);
}

TEST(CgroupFs, AtTakesV1OrV2DirectoriesAndRejectsOthers) {
  Fixture f;
  EXPECT_EQ(f.fz.at(f.v1("/a", "THAWED"))->version, Version::v1);
  EXPECT_EQ(f.fz.at(f.v2("/b", "0", "0"))->version, Version::v2);
  auto bad = f.fz.at(f.root.path());
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().exit, Exit::usage);
  EXPECT_NE(bad.error().what.find("neither freezer.state"), std::string::npos);
}

// Found with fuzz_freezer_cgroup_fs (tests/fuzz/corpus/freezer_cgroup_fs/crash-name-too-long): a
// path the kernel refuses (ENAMETOOLONG here) made fs::exists throw, and gpucr exit 70.
TEST(CgroupFs, PathsTheKernelRefusesAreNoCgroupNotAnException) {
  Fixture f("30 1 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n");
  const std::string too_long = "/" + std::string(300, 'a');
  f.pid(42, "0::" + too_long + "\n");
  auto l = f.fz.find(42);
  ASSERT_TRUE(l.ok()) << l.error().what;
  EXPECT_FALSE(l->cgroup);
  EXPECT_NE(l->none_reason.find("has no cgroup.freeze"), std::string::npos) << l->none_reason;
  auto at = f.fz.at(f.root.path() / too_long.substr(1));  // --freeze-cgroup with such a path
  ASSERT_FALSE(at);
  EXPECT_EQ(at.error().exit, Exit::usage);
  EXPECT_FALSE(f.fz.exists(Cgroup{Version::v2, too_long, f.root.path() / too_long.substr(1)}));
}

TEST(CgroupFs, FreezeWritesTheControlFileAndWaitsForTheState) {
  Fixture f;
  Cgroup v1{Version::v1, "/a", f.v1("/a", "THAWED")};
  ASSERT_TRUE(f.fz.freeze(v1, std::chrono::milliseconds(200)).ok());
  EXPECT_EQ(*read_file(v1.dir / "freezer.state"), "FROZEN");
  // v2: cgroup.events never says frozen 1 in a fixture, so the wait must time out, clearly.
  Cgroup v2{Version::v2, "/b", f.v2("/b", "0", "0")};
  auto st = f.fz.freeze(v2, std::chrono::milliseconds(50));
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(*read_file(v2.dir / "cgroup.freeze"), "1");
  EXPECT_NE(st.error().what.find("still FREEZING"), std::string::npos) << st.error().what;
}

TEST(CgroupFs, ThawRefusesWhenAnAncestorIsFrozen) {
  Fixture f;
  fs::path dir = f.v1("/a/b", "FROZEN");
  f.root.write("sys/fs/cgroup/freezer/a/b/freezer.parent_freezing", "1\n");
  auto st = f.fz.thaw(Cgroup{Version::v1, "/a/b", dir}, std::chrono::milliseconds(50));
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().what.find("ancestor"), std::string::npos) << st.error().what;
  EXPECT_EQ(*read_file(dir / "freezer.state"), "FROZEN\n");  // not even tried

  f.v2("/p", "1", "1");
  fs::path child = f.v2("/p/c", "0", "1");
  auto st2 = f.fz.thaw(Cgroup{Version::v2, "/p/c", child}, std::chrono::milliseconds(50));
  ASSERT_FALSE(st2.ok());
  EXPECT_NE(st2.error().what.find("/p"), std::string::npos) << st2.error().what;
}

TEST(CgroupParsers, ProcCgroupLines) {
  auto lines = parse_proc_cgroup("12:cpu,cpuacct:/a\n0::/b c\n", "f");
  ASSERT_TRUE(lines.ok());
  ASSERT_EQ(lines->size(), 2u);
  EXPECT_EQ((*lines)[0].controllers, (std::vector<std::string>{"cpu", "cpuacct"}));
  EXPECT_EQ((*lines)[1].id, 0);
  EXPECT_TRUE((*lines)[1].controllers.empty());
  EXPECT_EQ((*lines)[1].path, "/b c");
  EXPECT_FALSE(parse_proc_cgroup("garbage\n", "f").ok());
}

TEST(CgroupParsers, MountinfoDecodesEscapesAndFindsFsType) {
  auto m = parse_mountinfo("41 31 0:38 / /sys/fs/cgroup/my\\040dir rw shared:1 master:2 - cgroup2 cgroup2 rw,nsdelegate\n", "mi");
  ASSERT_TRUE(m.ok());
  ASSERT_EQ(m->size(), 1u);
  EXPECT_EQ((*m)[0].mount_point, "/sys/fs/cgroup/my dir");
  EXPECT_EQ((*m)[0].fstype, "cgroup2");
  EXPECT_EQ((*m)[0].super_options, (std::vector<std::string>{"rw", "nsdelegate"}));
  EXPECT_FALSE(parse_mountinfo("1 2 3\n", "mi").ok());
}

TEST(CgroupParsers, MapToMountKeepsPrefixBoundaries) {
  MountEntry m{"/a", "/mnt", "cgroup", {"freezer"}};
  EXPECT_EQ(map_to_mount(m, "/a/x"), "/mnt/x");
  EXPECT_EQ(map_to_mount(m, "/a"), "/mnt");
  EXPECT_EQ(map_to_mount(m, "/ab"), std::nullopt);
}

TEST(CgroupParsers, States) {
  EXPECT_EQ(*parse_v1_state("FREEZING\n", "f"), State::freezing);
  EXPECT_FALSE(parse_v1_state("BOGUS", "f").ok());
  EXPECT_EQ(*parse_v2_state("1\n", "frozen 0\n", "d"), State::freezing);
  EXPECT_EQ(*parse_v2_state("0\n", "populated 1\nfrozen 1\n", "d"), State::frozen);  // by an ancestor
  EXPECT_EQ(*parse_v2_state("0", "frozen 0", "d"), State::thawed);
  EXPECT_FALSE(parse_v2_state("2", "frozen 0", "d").ok());
  EXPECT_FALSE(parse_v2_state("0", "populated 1", "d").ok());
  EXPECT_TRUE(counts_as_frozen(State::freezing));
}

}  // namespace
