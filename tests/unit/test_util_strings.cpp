// util/strings: splitting, parsing numbers and sizes, formatting durations and sizes.
#include "util/strings.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

using namespace gpucr;
using namespace std::chrono_literals;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

TEST(UtilStrings, SplitKeepsEmptyFields) {
  EXPECT_THAT(split("a,,b,", ','), ElementsAre("a", "", "b", ""));
  EXPECT_THAT(split("", ','), ElementsAre(""));
}

TEST(UtilStrings, SplitWsDropsRuns) {
  EXPECT_THAT(split_ws(" \ta  b\t\tc "), ElementsAre("a", "b", "c"));
  EXPECT_THAT(split_ws("   "), IsEmpty());
}

TEST(UtilStrings, TrimAndJoin) {
  EXPECT_EQ(trim(" \r\n x y \t\n"), "x y");
  EXPECT_EQ(trim("   "), "");
  EXPECT_EQ(join({"a", "b", "c"}, ", "), "a, b, c");
  EXPECT_EQ(join({}, ","), "");
}

TEST(UtilStrings, ParseIntAcceptsWholeDecimals) {
  EXPECT_EQ(*parse_int("42", "x"), 42);
  EXPECT_EQ(*parse_int("-7", "x"), -7);
  EXPECT_EQ(*parse_int("9223372036854775807", "x"), 9223372036854775807LL);
}

TEST(UtilStrings, ParseIntRejectsEverythingElse) {
  for (const char* s : {"", " 1", "1 ", "1x", "0x10", "+1", "9223372036854775808", "1.0"}) {
    auto r = parse_int(s, "pid");
    ASSERT_FALSE(r) << s;
    EXPECT_EQ(r.error().exit, Exit::bad_input);
    EXPECT_THAT(r.error().what, HasSubstr("invalid pid '" + std::string(s) + "'"));
  }
}

TEST(UtilStrings, ParseSizeSuffixes) {
  EXPECT_EQ(*parse_size("0", "x"), 0u);
  EXPECT_EQ(*parse_size("123", "x"), 123u);
  EXPECT_EQ(*parse_size("4K", "x"), 4096u);
  EXPECT_EQ(*parse_size("4k", "x"), 4096u);
  EXPECT_EQ(*parse_size("16M", "x"), 16u << 20);
  EXPECT_EQ(*parse_size("2G", "x"), 2ull << 30);
  EXPECT_EQ(*parse_size("1T", "x"), 1ull << 40);
}

TEST(UtilStrings, ParseSizeRejectsGarbageAndOverflow) {
  for (const char* s : {"", "K", "2X", "-1", "1.5G", "16777216T", "18446744073709551616"}) {
    auto r = parse_size(s, "KFD_MAX_BUFFER_SIZE");
    ASSERT_FALSE(r) << s;
    EXPECT_EQ(r.error().exit, Exit::bad_input);
    EXPECT_THAT(r.error().what, HasSubstr("invalid KFD_MAX_BUFFER_SIZE"));
  }
}

TEST(UtilStrings, FormatDuration) {
  EXPECT_EQ(format_duration(0ns), "0ms");
  EXPECT_EQ(format_duration(56ms), "56ms");
  EXPECT_EQ(format_duration(999ms), "999ms");
  EXPECT_EQ(format_duration(1234ms), "1.234s");
  EXPECT_EQ(format_duration(119s), "119.000s");
  EXPECT_EQ(format_duration(123s), "2m03s");
}

TEST(UtilStrings, FormatBytes) {
  EXPECT_EQ(format_bytes(0), "0 B");
  EXPECT_EQ(format_bytes(512), "512 B");
  EXPECT_EQ(format_bytes(1024), "1.0 KiB");
  EXPECT_EQ(format_bytes(12ull << 20), "12.0 MiB");
  EXPECT_EQ(format_bytes(3ull << 29), "1.5 GiB");
  EXPECT_EQ(format_bytes(5ull << 40), "5.0 TiB");
}

TEST(Strings, PrintableUtf8KeepsTextAndEscapesBrokenBytesAndControls) {
  EXPECT_TRUE(is_utf8("gpu-überwacher ✓"));
  EXPECT_FALSE(is_utf8("a\xff"));
  EXPECT_FALSE(is_utf8("\xc0\xaf"));  // overlong '/'
  EXPECT_FALSE(is_utf8("\xed\xa0\x80"));  // a surrogate
  EXPECT_EQ(printable_utf8("gpu-überwacher ✓"), "gpu-überwacher ✓");
  EXPECT_EQ(printable_utf8("a\xff" "b"), "a\\xFFb");
  EXPECT_EQ(printable_utf8("\xe2\x9c"), "\\xE2\\x9C");  // a character cut short (comm at 15 bytes)
  EXPECT_EQ(printable_utf8("x\n\x1b[2Jy\x7f"), "x\\x0A\\x1B[2Jy\\x7F");
}
