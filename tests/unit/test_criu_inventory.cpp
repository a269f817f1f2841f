// criu/inventory: the inventory.img codec and its `plugins` field (docs/FACTS.md §3).
#include "criu/inventory.hpp"

#include "support.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sys/stat.h>

using namespace gpucr;
using namespace gpucr::fakes;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

namespace {

// An inventory.img around `entry` (the serialized inventory_entry).
std::string framed(const std::string& entry) {
  return criu::join_entries({0, criu::kMagicInventory}, {entry});
}

// The inventory_entry written by Debian 13's criu 4.1.1 for a plain process tree (measured):
// img_version 2, fdinfo_per_id, root_ids, ns_per_id, root_cg_set, lsmtype, network_lock_method,
// an empty plugins field, dump_criu_run_id.
std::string real_criu_411_entry() {
  return bytes({0x08, 0x02, 0x10, 0x01, 0x1a, 0x18, 0x08, 0x01, 0x10, 0x01, 0x18, 0x01, 0x20, 0x01, 0x28,
                0x01, 0x30, 0x02, 0x38, 0x03, 0x40, 0x04, 0x48, 0x06, 0x50, 0x07, 0x58, 0x08, 0x60, 0x05,
                0x20, 0x01, 0x28, 0x01, 0x30, 0x00, 0x58, 0x00, 0x62, 0x00, 0x6a, 0x24}) +
         "65490b99-3b89-472d-990c-50a8d9378cd9";
}

// An entry with fields our proto does not know: 7 (between known ones) and 15 (after them),
// and plugins listing cuda_plugin.
std::string entry_with_unknown_fields() {
  return bytes({0x08, 0x02,                    // 1: img_version 2
                0x10, 0x01,                    // 2: fdinfo_per_id
                0x30, 0x00,                    // 6: lsmtype
                0x3a, 0x03, 'a', 'b', 'c',     // 7: unknown, length-delimited "abc"
                0x40, 0x96, 0x01,              // 8: dump_uptime 150
                0x62, 0x0d, 0x62, 0x0b}) +     // 12: plugins { "cuda_plugin" }
         "cuda_plugin" +
         bytes({0x6a, 0x02, 'i', 'd',          // 13: dump_criu_run_id "id"
                0x78, 0x2a,                    // 15: unknown varint 42
                0x7d, 0x01, 0x02, 0x03, 0x04}); // 15: unknown fixed32
}

criu::Inventory parse_ok(const std::string& b) {
  auto inv = criu::parse_inventory(b, "/img/inventory.img");
  EXPECT_TRUE(inv) << (inv ? "" : inv.error().what);
  return inv ? *inv : criu::Inventory{};
}

void expect_bad_input(const std::string& b, const std::string& why_substring = "") {
  auto inv = criu::parse_inventory(b, "/img/inventory.img");
  ASSERT_FALSE(inv) << "parsed " << b.size() << " bytes";
  EXPECT_EQ(inv.error().exit, Exit::bad_input);
  EXPECT_THAT(inv.error().what, HasSubstr("/img/inventory.img"));
  EXPECT_THAT(inv.error().what, HasSubstr(why_substring));
  EXPECT_FALSE(inv.error().hint.empty());
}

}  // namespace

TEST(CriuInventory, FactsGoldenCudaPluginListsTheName) {
  auto inv = parse_ok(inventory_cuda_plugin());
  EXPECT_EQ(inv.entry.img_version(), 2u);
  EXPECT_TRUE(inv.entry.fdinfo_per_id());
  EXPECT_EQ(inv.plugins_field(), criu::PluginsField::listed);
  EXPECT_THAT(inv.plugins(), ElementsAre("cuda_plugin"));
}

TEST(CriuInventory, FactsGoldenEmptyFieldIsEmpty) {
  auto inv = parse_ok(inventory_empty_plugins());
  EXPECT_EQ(inv.plugins_field(), criu::PluginsField::empty);
  EXPECT_THAT(inv.plugins(), IsEmpty());
}

TEST(CriuInventory, MissingFieldIsMissing) {
  auto inv = parse_ok(framed(bytes({0x08, 0x02, 0x10, 0x01})));
  EXPECT_EQ(inv.plugins_field(), criu::PluginsField::missing);
  EXPECT_STREQ(criu::to_string(inv.plugins_field()), "missing");
}

TEST(CriuInventory, TwoNamesAreListedInOrder) {
  std::string entry = bytes({0x08, 0x02, 0x62, 0x1c, 0x62, 0x0b}) + "cuda_plugin" + bytes({0x62, 0x0d}) + "amdgpu_plugin";
  auto inv = parse_ok(framed(entry));
  EXPECT_THAT(inv.plugins(), ElementsAre("cuda_plugin", "amdgpu_plugin"));
}

TEST(CriuInventory, RoundTripIsByteExactForTheGoldenVectors) {
  for (const std::string& golden : {inventory_cuda_plugin(), inventory_empty_plugins(),
                                    framed(real_criu_411_entry()), framed(bytes({0x08, 0x02}))}) {
    EXPECT_EQ(criu::serialize_inventory(parse_ok(golden)), golden);
  }
}

TEST(CriuInventory, RoundTripKeepsUnknownFieldsInPlace) {
  std::string in = framed(entry_with_unknown_fields());
  EXPECT_EQ(criu::serialize_inventory(parse_ok(in)), in);
}

TEST(CriuInventory, SettingPluginsRewritesOnlyThatField) {
  auto inv = parse_ok(framed(entry_with_unknown_fields()));
  inv.set_plugins({});
  std::string want = entry_with_unknown_fields();
  const std::string old_field = bytes({0x62, 0x0d, 0x62, 0x0b}) + "cuda_plugin";
  want.replace(want.find(old_field), old_field.size(), bytes({0x62, 0x00}));
  std::string out = criu::serialize_inventory(inv);
  EXPECT_EQ(out, framed(want));
  EXPECT_EQ(parse_ok(out).plugins_field(), criu::PluginsField::empty);
}

TEST(CriuInventory, ClearingTheFactsGoldenGivesTheEmptyGolden) {
  auto inv = parse_ok(inventory_cuda_plugin());
  inv.set_plugins({});
  EXPECT_EQ(criu::serialize_inventory(inv), inventory_empty_plugins());
}

TEST(CriuInventory, ListingOnTheEmptyGoldenGivesTheCudaGolden) {
  auto inv = parse_ok(inventory_empty_plugins());
  inv.set_plugins({"cuda_plugin"});
  EXPECT_EQ(criu::serialize_inventory(inv), inventory_cuda_plugin());
}

TEST(CriuInventory, SettingPluginsOnTheRealCriuImageKeepsEveryOtherByte) {
  auto inv = parse_ok(framed(real_criu_411_entry()));
  inv.set_plugins({"cuda_plugin"});
  std::string want = real_criu_411_entry();
  want.replace(want.find(bytes({0x62, 0x00})), 2, bytes({0x62, 0x0d, 0x62, 0x0b}) + "cuda_plugin");
  EXPECT_EQ(criu::serialize_inventory(inv), framed(want));
}

TEST(CriuInventory, AddingToAnImageWithoutTheFieldPutsItInFieldOrder) {
  // Fields 1, 2, 13: plugins (12) goes before 13, where criu writes it.
  std::string entry = bytes({0x08, 0x02, 0x10, 0x01, 0x6a, 0x02, 'i', 'd'});
  auto inv = parse_ok(framed(entry));
  inv.set_plugins({});
  EXPECT_EQ(criu::serialize_inventory(inv), framed(bytes({0x08, 0x02, 0x10, 0x01, 0x62, 0x00, 0x6a, 0x02, 'i', 'd'})));
  // Without later fields it goes last.
  auto inv2 = parse_ok(framed(bytes({0x08, 0x02})));
  inv2.set_plugins({"cuda_plugin"});
  EXPECT_EQ(criu::serialize_inventory(inv2), framed(bytes({0x08, 0x02, 0x62, 0x0d, 0x62, 0x0b}) + "cuda_plugin"));
}

TEST(CriuInventory, TruncatedInputFailsAtEveryLength) {
  for (const std::string& golden : {inventory_cuda_plugin(), inventory_empty_plugins()}) {
    for (size_t n = 0; n < golden.size(); ++n) {
      SCOPED_TRACE("length " + std::to_string(n));
      expect_bad_input(golden.substr(0, n));
    }
  }
}

TEST(CriuInventory, WrongMagicNamesBothMagics) {
  std::string b = inventory_empty_plugins();
  b[0] = 0x17;
  expect_bad_input(b, "magic 0x58313117, expected 0x58313116");
  // The common magic other images start with is not an inventory.
  expect_bad_input(criu::join_entries({0, criu::kMagicCommon}, {bytes({0x08, 0x02})}), "expected 0x58313116");
}

TEST(CriuInventory, BadEntryLengthFails) {
  std::string longer = inventory_empty_plugins();
  longer[4] = 0x07;  // claims one byte more than there is
  expect_bad_input(longer, "claims 7 bytes, only 6 left");
  std::string shorter = inventory_cuda_plugin();
  shorter[4] = 0x04;  // the rest of the entry then reads as a bogus second entry
  expect_bad_input(shorter);
}

TEST(CriuInventory, GarbageProtobufFails) {
  for (const std::string& entry : {
           bytes({0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}),  // endless varint
           bytes({0x08, 0x02, 0x62, 0x05, 0x62}),                                      // length past the end
           bytes({0x08, 0x02, 0x0f}),                                                  // wire type 7
           bytes({0x00, 0x01}),                                                        // field number 0
           bytes({0x08, 0x02, 0x0c}),                                                  // end-group without start
           bytes({0x08}),                                                              // tag without value
       }) {
    SCOPED_TRACE(::testing::PrintToString(entry));
    expect_bad_input(framed(entry));
  }
}

TEST(CriuInventory, MissingImgVersionFails) {
  expect_bad_input(framed(bytes({0x10, 0x01, 0x62, 0x00})), "img_version");
}

TEST(CriuInventory, TrailingBytesFail) {
  expect_bad_input(inventory_empty_plugins() + bytes({0x00}), "truncated entry length");
  expect_bad_input(inventory_empty_plugins() + bytes({0x00, 0x00, 0x00, 0x00}), "found 2");
}

TEST(CriuInventory, EmptyFileFails) { expect_bad_input("", "truncated magic"); }

TEST(CriuInventory, ReadAndWriteGoThroughTheImageDir) {
  TempDir dir;
  put_file(dir / "inventory.img", inventory_cuda_plugin());
  auto inv = criu::read_inventory(dir.path());
  ASSERT_TRUE(inv);
  inv->set_plugins({});
  ino_t before = inode_of(dir / "inventory.img");
  ASSERT_TRUE(criu::write_inventory(dir.path(), *inv));
  EXPECT_EQ(slurp(dir / "inventory.img"), inventory_empty_plugins());
  // Atomic: a new file renamed over the old one, no temporary left behind, mode 0600.
  EXPECT_NE(inode_of(dir / "inventory.img"), before);
  EXPECT_THAT(*list_dir(dir.path()), ElementsAre("inventory.img"));
  EXPECT_EQ(mode_of(dir / "inventory.img"), 0600u);
}

TEST(CriuInventory, FailedParseLeavesTheFileUntouched) {
  TempDir dir;
  std::string corrupt = inventory_cuda_plugin().substr(0, 20);
  put_file(dir / "inventory.img", corrupt);
  ino_t before = inode_of(dir / "inventory.img");
  auto inv = criu::read_inventory(dir.path());
  ASSERT_FALSE(inv);
  EXPECT_EQ(inv.error().exit, Exit::bad_input);
  EXPECT_THAT(inv.error().what, HasSubstr((dir / "inventory.img").string()));
  EXPECT_EQ(slurp(dir / "inventory.img"), corrupt);
  EXPECT_EQ(inode_of(dir / "inventory.img"), before);
  EXPECT_THAT(*list_dir(dir.path()), ElementsAre("inventory.img"));
}

TEST(CriuInventory, MissingFileSaysItIsNoImageDir) {
  TempDir dir;
  auto inv = criu::read_inventory(dir.path());
  ASSERT_FALSE(inv);
  EXPECT_EQ(inv.error().exit, Exit::bad_input);
  EXPECT_THAT(inv.error().what, HasSubstr("inventory.img"));
  EXPECT_THAT(inv.error().hint, HasSubstr("CRIU image directory"));
}

TEST(CriuInventory, WriteIntoAMissingDirFailsAndCreatesNothing) {
  TempDir dir;
  auto st = criu::write_inventory(dir / "nope", parse_ok(inventory_empty_plugins()));
  ASSERT_FALSE(st);
  EXPECT_THAT(st.error().what, HasSubstr((dir / "nope").string()));
  EXPECT_FALSE(fs::exists(dir / "nope"));
}
