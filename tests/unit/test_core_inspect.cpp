// core/inspect: what `gpucr inspect` reports for hand-built image directories.
#include "core/inspect.hpp"
#include "fake_handler_probe.hpp"

#include "core/manifest.hpp"
#include "criu/inventory.hpp"
#include "support.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

using namespace gpucr;
using namespace gpucr::fakes;
using ::testing::HasSubstr;
using ::testing::Not;

namespace {

const gpucr::fakes::FakeHandlerProbe no_gpu_handlers;
void plain_image(const TempDir& dir, const std::string& inventory) {
  put_file(dir / "inventory.img", inventory);
  put_file(dir / "pstree.img", pstree_image({{300, 0, {300, 301}}, {302, 300, {302}}}));
  criu::StatsEntry s;
  s.mutable_dump()->set_frozen_time(2500000);
  s.mutable_dump()->set_pages_written(4096);
  put_file(dir / "stats-dump", stats_image(s));
}
}  // namespace

TEST(CoreInspect, PlainCriuImageWithListedPlugins) {
  TempDir dir;
  plain_image(dir, inventory_cuda_plugin());
  auto r = inspect(dir.path(), no_gpu_handlers, "/usr/lib/criu");
  ASSERT_TRUE(r) << r.error().what;
  std::string text = to_text(*r);
  EXPECT_THAT(text, HasSubstr("plugins field    listed: cuda_plugin"));
  EXPECT_THAT(text, HasSubstr("processes        2 (root pid 300)"));
  EXPECT_THAT(text, HasSubstr("frozen 2.500s"));
  EXPECT_THAT(text, HasSubstr("written 4096"));
  EXPECT_THAT(text, HasSubstr("gpucr manifest   none (not checkpointed by gpucr)"));
  auto j = to_json(*r);
  EXPECT_EQ(j["inventory"]["plugins"]["field"], "listed");
  EXPECT_EQ(j["inventory"]["plugins"]["names"][0], "cuda_plugin");
  EXPECT_EQ(j["pstree"].size(), 2u);
  EXPECT_EQ(j["pstree"][0]["threads"], 2);
  EXPECT_EQ(j["files"], 3);
  EXPECT_TRUE(j["manifest"].is_null());
  EXPECT_TRUE(j["restore_stats"].is_null());
  EXPECT_EQ(j["dump_stats"]["frozen_time"], 2500000);
}

// Found by fuzzing (docs/FUZZING.md): a plugin name that is not UTF-8 is shown as \xNN in text
// and JSON; dump() used to throw (an internal error, exit 70).
TEST(CoreInspect, PluginNamesThatAreNotUtf8AreShownEscaped) {
  TempDir dir;
  auto inv = criu::parse_inventory(inventory_cuda_plugin(), "inventory.img");
  ASSERT_TRUE(inv);
  inv->set_plugins({"cu\xff" "da\n"});
  plain_image(dir, criu::serialize_inventory(*inv));
  auto r = inspect(dir.path(), no_gpu_handlers, "/usr/lib/criu");
  ASSERT_TRUE(r) << r.error().what;
  EXPECT_THAT(to_text(*r), HasSubstr("plugins field    listed: cu\\xFFda\\x0A\n"));
  auto j = to_json(*r);
  EXPECT_EQ(j["inventory"]["plugins"]["names"][0], "cu\\xFFda\\x0A");
  EXPECT_NO_THROW((void)j.dump());
}

TEST(CoreInspect, MissingPluginsFieldIsExplained) {
  TempDir dir;
  plain_image(dir, criu::join_entries({0, criu::kMagicInventory}, {bytes({0x08, 0x02})}));
  auto r = inspect(dir.path(), no_gpu_handlers, "/usr/lib/criu");
  ASSERT_TRUE(r);
  EXPECT_THAT(to_text(*r), HasSubstr("plugins field    missing"));
  EXPECT_THAT(to_text(*r), HasSubstr("written by criu < 4.1 (no field): every GPU handler is probed"));
  EXPECT_EQ(to_json(*r)["inventory"]["plugins"]["field"], "missing");
}

TEST(CoreInspect, GpucrImageShowsTheManifest) {
  TempDir dir;
  plain_image(dir, inventory_empty_plugins());
  pb::Manifest m;
  m.set_gpucr_version("0.1.0");
  m.set_criu_version("4.1.1");
  m.set_hostname("h");
  m.mutable_target()->set_root_pid(300);
  auto* p = m.add_processes();
  p->set_pid(300);
  p->add_nspid(300);
  p->add_nspid(1);
  p->set_comm("w");
  auto* ph = m.add_phases();
  ph->set_name("criu dump");
  ph->set_duration_us(1500);
  ph->set_ok(true);
  ASSERT_TRUE(write_manifest(dir.path(), m));
  auto r = inspect(dir.path(), no_gpu_handlers, "/usr/lib/criu");
  ASSERT_TRUE(r) << r.error().what;
  std::string text = to_text(*r);
  EXPECT_THAT(text, HasSubstr("plugins field    empty"));
  EXPECT_THAT(text, HasSubstr("gpucr manifest   gpucr 0.1.0, criu 4.1.1, host h"));
  EXPECT_THAT(text, HasSubstr("nspid 300/1"));
  EXPECT_THAT(text, HasSubstr("criu dump"));
  EXPECT_THAT(text, Not(HasSubstr("FAILED")));
  EXPECT_EQ(to_json(*r)["manifest"]["target"]["root_pid"], 300);
}

TEST(CoreInspect, NotADirectoryOrNotAnImageIsBadInput) {
  TempDir dir;
  auto r = inspect(dir / "missing", no_gpu_handlers, "/usr/lib/criu");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().exit, Exit::bad_input);
  EXPECT_THAT(r.error().what, HasSubstr("is not a directory"));
  r = inspect(dir.path(), no_gpu_handlers, "/usr/lib/criu");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().exit, Exit::bad_input);
  EXPECT_THAT(r.error().what, HasSubstr("inventory.img"));
}

TEST(CoreInspect, CorruptStatsAreBadInput) {
  TempDir dir;
  plain_image(dir, inventory_empty_plugins());
  put_file(dir / "stats-dump", "garbage!");
  auto r = inspect(dir.path(), no_gpu_handlers, "/usr/lib/criu");
  ASSERT_FALSE(r);
  EXPECT_THAT(r.error().what, HasSubstr("stats-dump"));
}
