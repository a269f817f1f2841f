// archive/index: gpucr's index of a checkpoint archive (grammar in archive/index.hpp).
#include "archive/index.hpp"

#include <gtest/gtest.h>

using namespace gpucr;
using namespace gpucr::archive;

namespace {

Index sample() {
  Index i;
  i.entries = {{"spec.dump", Kind::file, 12, 0x1234abcd},
               {"checkpoint/", Kind::dir, 0, 0},
               {"checkpoint/gpucr-manifest", Kind::file, 99, 0xdeadbeef},
               {"checkpoint/pages-1.img", Kind::file, 1ull << 40, 7}};
  return i;
}

std::string why(const Result<Index>& r) { return r ? "ok" : r.error().what; }

}  // namespace

TEST(ArchiveIndex, EncodesOneLinePerEntryAndDecodesBack) {
  std::string text = encode_index(sample());
  EXPECT_EQ(text.substr(0, 14), "gpucr-index 1\n");
  EXPECT_NE(text.find("\nf 99 deadbeef checkpoint/gpucr-manifest\n"), std::string::npos) << text;
  EXPECT_NE(text.find("\nd 0 00000000 checkpoint/\n"), std::string::npos) << text;
  EXPECT_NE(text.find("\nend 4 "), std::string::npos) << text;
  auto back = decode_index(text, "archive a");
  ASSERT_TRUE(back) << back.error().what;
  ASSERT_EQ(back->entries.size(), 4u);
  EXPECT_EQ(back->entries[3].size, 1ull << 40);
  EXPECT_EQ(back->entries[2].crc, 0xdeadbeefu);
  EXPECT_EQ(back->file_bytes(), 12 + 99 + (1ull << 40));
  EXPECT_NE(back->find("checkpoint/"), nullptr);
  EXPECT_EQ(back->find("checkpoint/x"), nullptr);
}

TEST(ArchiveIndex, MemberNamesAreOneSafeComponentBelowCheckpointAtMost) {
  for (const char* ok : {"spec.dump", "config.dump", "checkpoint/pages-1.img", "checkpoint/tmpfs-dev-58.tar.gz.img",
                         "checkpoint/gpucr-manifest"}) {
    EXPECT_TRUE(valid_member_name(ok, Kind::file)) << ok;
  }
  for (const char* bad : {"", "/etc/passwd", "../x", "checkpoint/../x", "checkpoint/sub/x", "checkpoint/", "a b",
                          ".", "..", "checkpoint/..", "gpucr-index", "checkpoint/-x", "x/y", "checkpoint//x"}) {
    EXPECT_FALSE(valid_member_name(bad, Kind::file)) << bad;
  }
  EXPECT_TRUE(valid_member_name("checkpoint/", Kind::dir));
  EXPECT_FALSE(valid_member_name("etc/", Kind::dir));
  EXPECT_EQ(image_file_name("checkpoint/pages-1.img"), "pages-1.img");
  EXPECT_EQ(image_file_name("spec.dump"), "");
}

TEST(ArchiveIndex, TamperedOrMalformedIndexesAreRefused) {
  std::string good = encode_index(sample());
  auto tampered = good;
  tampered[good.find("deadbeef")] = 'e';
  EXPECT_NE(why(decode_index(tampered, "archive a")).find("checksum mismatch"), std::string::npos);
  EXPECT_NE(why(decode_index("not an index", "archive a")).find("does not start with"), std::string::npos);
  EXPECT_NE(why(decode_index(good.substr(0, good.size() - 1), "archive a")).find("no end line"), std::string::npos);

  auto remade = [](std::vector<IndexEntry> es) {
    Index i;
    i.entries = std::move(es);
    return encode_index(i);
  };
  auto r = decode_index(remade({{"checkpoint/../../etc/passwd", Kind::file, 1, 0}}), "archive a");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().exit, Exit::bad_input);
  EXPECT_NE(r.error().what.find("unsafe or unexpected member name 'checkpoint/../../etc/passwd'"), std::string::npos)
      << r.error().what;
  EXPECT_NE(why(decode_index(remade({{"a", Kind::file, 1, 0}, {"a", Kind::file, 1, 0}}), "x")).find("listed twice"),
            std::string::npos);
  EXPECT_NE(why(decode_index(remade({{"checkpoint/a", Kind::file, 1, 0}, {"checkpoint/", Kind::dir, 0, 0}}), "x"))
                .find("comes before its directory"),
            std::string::npos);
  EXPECT_NE(why(decode_index(remade({{"checkpoint/", Kind::dir, 5, 0}}), "x")).find("has data"), std::string::npos);

  std::string text = remade({{"a", Kind::file, 1, 0}});
  auto end = text.find("end 1 ");
  std::string body = text.substr(0, end);
  std::string wrong_count = body + "end 2 " + crc_hex(crc32_of(0, body.data(), body.size())) + "\n";
  EXPECT_NE(why(decode_index(wrong_count, "x")).find("counts 2 entries"), std::string::npos);
  std::string huge = "gpucr-index 1\nf 99999999999999999999 00000000 a\n";
  huge += "end 1 " + crc_hex(crc32_of(0, huge.data(), huge.size())) + "\n";
  EXPECT_NE(why(decode_index(huge, "x")).find("overflows"), std::string::npos);
}

TEST(ArchiveIndex, CrcIsZlibs) {
  EXPECT_EQ(crc32_of(0, "123456789", 9), 0xcbf43926u);  // the CRC-32 check value
  EXPECT_EQ(crc_hex(0xcbf43926u), "cbf43926");
}
