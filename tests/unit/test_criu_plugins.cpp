// The inventory plugins field: codec and record_plugins on real criu 4.1.1 bytes, the restore
// plan (criu/plugins.hpp), the image view, and the dump argv's interrupt-only rule.
#include "criu/args.hpp"
#include "criu/image_view.hpp"
#include "criu/inventory.hpp"
#include "criu/plugins.hpp"
#include "fake_handler_probe.hpp"
#include "scratch_dir.hpp"

#include <gtest/gtest.h>

#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>

using namespace gpucr;
using namespace gpucr::criu;
using gpucr::fakes::FakeHandlerProbe;
using gpucr::fakes::ScratchDir;

namespace {

// inventory.img written by criu 4.1.1 on the CI VM (a plain dump): its plugins field is empty
// ("62 00"), followed by dump_criu_run_id.
const std::string kCriu411(
    "\x16\x31\x31\x58\x4e\x00\x00\x00\x08\x02\x10\x01\x1a\x18\x08\x01\x10\x01\x18\x01\x20\x01\x28\x01"
    "\x30\x02\x38\x03\x40\x04\x48\x06\x50\x07\x58\x08\x60\x05\x20\x01\x28\x01\x30\x00\x58\x00\x62\x00"
    "\x6a\x24\x64\x65\x35\x32\x36\x65\x35\x65\x2d\x39\x62\x37\x66\x2d\x34\x63\x66\x63\x2d\x38\x64\x35"
    "\x34\x2d\x38\x65\x37\x36\x30\x62\x65\x32\x64\x35\x62\x34",
    86);

// kCriu411 with the plugins field replaced by `field` (its full bytes, tag included).
std::string with_field(const std::string& field) {
  std::string entry = kCriu411.substr(8);
  size_t at = entry.find(std::string("\x62\x00", 2));
  entry.replace(at, 2, field);
  std::string out = kCriu411.substr(0, 4);
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((entry.size() >> (8 * i)) & 0xff));
  return out + entry;
}

const std::string kCudaField = std::string("\x62\x0d\x62\x0b", 4) + "cuda_plugin";

TEST(InventoryCodec, RoundTripsCriu411BytesExactly) {
  auto inv = parse_inventory(kCriu411, "inventory.img");
  ASSERT_TRUE(inv.ok()) << inv.error().what;
  EXPECT_EQ(inv->plugins_field(), PluginsField::empty);
  EXPECT_EQ(serialize_inventory(*inv), kCriu411);
}

TEST(RecordPlugins, ListsCudaPluginExactlyAsCriuWritesIt) {
  ScratchDir d;
  d.write(kInventoryFile, kCriu411);
  ASSERT_TRUE(record_plugins(d.path(), {kCudaPlugin}).ok());
  EXPECT_EQ(*read_file(d.path() / kInventoryFile), with_field(kCudaField));
  // Back to no GPU state: the original bytes again.
  ASSERT_TRUE(record_plugins(d.path(), {}).ok());
  EXPECT_EQ(*read_file(d.path() / kInventoryFile), kCriu411);
}

TEST(RecordPlugins, WritesAnEmptyFieldWhenCriuWroteNone) {
  ScratchDir d;
  std::string old = with_field("");  // as criu < 4.1 wrote it
  d.write(kInventoryFile, old);
  ASSERT_TRUE(record_plugins(d.path(), {}).ok());
  EXPECT_EQ(*read_file(d.path() / kInventoryFile), kCriu411);
}

TEST(RecordPlugins, KeepsUnknownFieldsByteForByte) {
  ScratchDir d;
  std::string newer = kCriu411.substr(8) + std::string("\x78\x01\x82\x01\x03xyz", 8);  // fields 15 and 16
  std::string file = kCriu411.substr(0, 4);
  for (int i = 0; i < 4; ++i) file.push_back(static_cast<char>((newer.size() >> (8 * i)) & 0xff));
  d.write(kInventoryFile, file + newer);
  auto st = record_plugins(d.path(), {kCudaPlugin});
  ASSERT_TRUE(st.ok()) << st.error().what;
  std::string after = *read_file(d.path() / kInventoryFile);
  EXPECT_NE(after.find(kCudaField), std::string::npos);
  EXPECT_EQ(after.substr(after.size() - 8), std::string("\x78\x01\x82\x01\x03xyz", 8));
  ASSERT_TRUE(record_plugins(d.path(), {}).ok());
  EXPECT_EQ(*read_file(d.path() / kInventoryFile), file + newer);
}

TEST(RecordPlugins, LeavesTheFileAloneWhenNothingChanges) {
  ScratchDir d;
  fs::path p = d.write(kInventoryFile, kCriu411);
  struct stat before {}, after {};
  ::stat(p.c_str(), &before);
  ASSERT_TRUE(record_plugins(d.path(), {}).ok());
  ::stat(p.c_str(), &after);
  EXPECT_EQ(before.st_ino, after.st_ino);
}

TEST(RecordPlugins, CorruptInventoryIsBadInputAndUntouched) {
  ScratchDir d;
  std::string bad = kCriu411.substr(0, 30);
  d.write(kInventoryFile, bad);
  auto st = record_plugins(d.path(), {kCudaPlugin});
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().exit, Exit::bad_input);
  EXPECT_NE(st.error().what.find("inventory.img"), std::string::npos) << st.error().what;
  EXPECT_EQ(*read_file(d.path() / kInventoryFile), bad);
}

Inventory inventory_listing(std::optional<std::vector<std::string>> names) {
  Inventory inv = *parse_inventory(kCriu411, "x");
  if (names) {
    inv.set_plugins(*names);
  } else {
    inv.entry.clear_plugins_entry();
  }
  return inv;
}

TEST(PluginPlan, EmptyFieldDisablesGpuHandlingWithoutProbing) {
  FakeHandlerProbe probe;
  auto plan = plan_plugins(inventory_listing(std::vector<std::string>{}), probe, "/l", Version{4, 1, 1});
  EXPECT_FALSE(plan.gpu_handling);
  EXPECT_EQ(probe.probes, 0);
  EXPECT_FALSE(plan.needs_view);
  EXPECT_TRUE(require_handlers(plan, "/img").ok());
  EXPECT_FALSE(plan.handled_by_gpucr(kCudaPlugin));
}

TEST(PluginPlan, ListedCudaWithAHandlerGoesThroughAViewThatListsNothing) {
  FakeHandlerProbe probe;
  probe.handlers[kCudaPlugin] = {true, "driver API in libcuda.so.1", ""};
  auto plan = plan_plugins(inventory_listing(std::vector<std::string>{kCudaPlugin}), probe, "/l", Version{4, 1, 1});
  EXPECT_TRUE(plan.gpu_handling);
  EXPECT_TRUE(plan.needs_view);
  EXPECT_TRUE(plan.for_criu.empty());
  EXPECT_TRUE(plan.handled_by_gpucr(kCudaPlugin));
  EXPECT_TRUE(require_handlers(plan, "/img").ok());
  EXPECT_NE(plan.meaning().find("restorable on this host"), std::string::npos) << plan.meaning();
  EXPECT_EQ(describe(plan.checks[0]), "gpucr restores the CUDA state itself (driver API in libcuda.so.1)");
}

TEST(PluginPlan, ListedCudaWithoutAHandlerFailsWithExit4NamingIt) {
  FakeHandlerProbe probe;
  auto plan = plan_plugins(inventory_listing(std::vector<std::string>{kCudaPlugin}), probe, "/l", Version{4, 1, 1});
  auto st = require_handlers(plan, "/img");
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().exit, Exit::missing_dependency);
  EXPECT_NE(st.error().what.find("no handler for cuda_plugin"), std::string::npos) << st.error().what;
  EXPECT_NE(st.error().hint.find("install the cuda_plugin handler"), std::string::npos) << st.error().hint;
  EXPECT_NE(plan.meaning().find("NOT restorable"), std::string::npos);
}

TEST(PluginPlan, AmdgpuStaysForCriuAndCudaIsTakenOut) {
  FakeHandlerProbe probe;
  probe.handlers[kCudaPlugin] = {true, "tool", ""};
  probe.handlers[kAmdgpuPlugin] = {true, "/l/amdgpu_plugin.so", ""};
  auto plan = plan_plugins(inventory_listing(std::vector<std::string>{kAmdgpuPlugin, kCudaPlugin}), probe, "/l",
                           Version{4, 1, 1});
  EXPECT_EQ(plan.for_criu, (std::vector<std::string>{kAmdgpuPlugin}));
  EXPECT_TRUE(plan.needs_view);
  // Only AMD: criu handles all of it, no view.
  auto amd = plan_plugins(inventory_listing(std::vector<std::string>{kAmdgpuPlugin}), probe, "/l", Version{4, 1, 1});
  EXPECT_FALSE(amd.needs_view);
}

TEST(PluginPlan, MissingFieldProbesEveryHandlerAndRequiresNone) {
  FakeHandlerProbe probe;
  probe.handlers[kCudaPlugin] = {true, "tool", ""};
  auto plan = plan_plugins(inventory_listing(std::nullopt), probe, "/l", Version{4, 1, 1});
  EXPECT_EQ(probe.probes, 2);
  EXPECT_TRUE(plan.gpu_handling);
  EXPECT_FALSE(plan.needs_view);
  EXPECT_TRUE(require_handlers(plan, "/img").ok());
  EXPECT_TRUE(plan.handled_by_gpucr(kCudaPlugin));
  EXPECT_NE(plan.meaning().find("available here: cuda_plugin"), std::string::npos) << plan.meaning();
}

TEST(PluginPlan, CriuOlderThan41IgnoresTheFieldSoNoView) {
  FakeHandlerProbe probe;
  probe.handlers[kCudaPlugin] = {true, "tool", ""};
  auto plan = plan_plugins(inventory_listing(std::vector<std::string>{kCudaPlugin}), probe, "/l", Version{4, 0, 0});
  EXPECT_FALSE(plan.needs_view);
}

TEST(PluginDir, FlagThenEnvThenDefault) {
  EXPECT_EQ(plugin_dir(std::nullopt, nullptr), "/usr/lib/criu");
  EXPECT_EQ(plugin_dir(std::nullopt, "/env/dir"), "/env/dir");  // $CRIU_LIBS_DIR
  EXPECT_EQ(plugin_dir(fs::path("/flag"), "/env/dir"), "/flag");
}

ino_t inode(const fs::path& p) {
  struct stat st {};
  ::lstat(p.c_str(), &st);
  return st.st_ino;
}

TEST(ImageView, HardLinksEveryFileAndRewritesOnlyItsOwnInventory) {
  ScratchDir d;
  fs::path img = d.path() / "img";
  d.write("img/inventory.img", with_field(kCudaField));
  d.write("img/pages-1.img", "pages");
  fs::create_directory(img / "subdir");
  fs::create_symlink("../parent-images", img / "parent");
  Inventory for_criu = *read_inventory(img);
  for_criu.set_plugins({});
  fs::path view_dir;
  {
    auto view = ImageView::create(img, for_criu);
    ASSERT_TRUE(view.ok()) << view.error().what;
    view_dir = view->dir();
    EXPECT_EQ(view_dir.parent_path(), img);
    EXPECT_EQ(view_dir.filename().string().rfind(".gpucr-view-", 0), 0u);
    EXPECT_EQ(inode(view_dir / "pages-1.img"), inode(img / "pages-1.img"));
    EXPECT_NE(inode(view_dir / "inventory.img"), inode(img / "inventory.img"));
    EXPECT_EQ(*read_file(view_dir / "inventory.img"), kCriu411);
    EXPECT_EQ(*read_file(img / "inventory.img"), with_field(kCudaField));
    EXPECT_EQ(fs::read_symlink(view_dir / "parent"), "../../parent-images");
    EXPECT_FALSE(fs::exists(view_dir / "subdir"));
    ASSERT_TRUE(view->remove().ok());
    EXPECT_FALSE(fs::exists(view_dir));
    EXPECT_TRUE(view->remove().ok());  // idempotent
  }
  EXPECT_EQ(*read_file(img / "pages-1.img"), "pages");
  {
    auto view = ImageView::create(img, for_criu);
    ASSERT_TRUE(view.ok());
    view_dir = view->dir();
  }  // the destructor removes it
  EXPECT_FALSE(fs::exists(view_dir));
  EXPECT_EQ(*list_dir(img), (std::vector<std::string>{"inventory.img", "pages-1.img", "parent", "subdir"}));
}

TEST(ImageView, ViewsOfDeadGpucrProcessesAreRemoved) {
  ScratchDir d;
  d.write(".gpucr-view-999999999-dead/pages-1.img", "x");
  d.write(std::string(".gpucr-view-") + std::to_string(::getppid()) + "-live/pages-1.img", "x");
  auto removed = remove_stale_views(d.path());
  EXPECT_EQ(removed, (std::vector<std::string>{".gpucr-view-999999999-dead"}));
  EXPECT_EQ(list_dir(d.path())->size(), 1u);
}

TEST(DumpArgs, InterruptOnlyNeverPassesFreezeCgroup) {
  DumpFlags f;
  f.pid = 5;
  f.freeze_cgroup = fs::path("/sys/fs/cgroup/freezer/ctr");
  f.manage_cgroups_mode = "full";
  auto a = dump_args(f);
  auto at = std::find(a.begin(), a.end(), "--freeze-cgroup");
  ASSERT_NE(at, a.end());
  EXPECT_EQ(*(at + 1), "/sys/fs/cgroup/freezer/ctr");
  EXPECT_NE(std::find(a.begin(), a.end(), "--manage-cgroups=full"), a.end());
  f.interrupt_only = true;
  a = dump_args(f);
  EXPECT_EQ(std::find(a.begin(), a.end(), "--freeze-cgroup"), a.end());
}

}  // namespace
