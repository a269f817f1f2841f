#include "util/strings.hpp"

#include <gtest/gtest.h>

using namespace gpucr;

TEST(Strings, ParseSizeAcceptsSuffixes) {
  EXPECT_EQ(*parse_size("4K", "x"), 4096u);
  EXPECT_EQ(*parse_size("2G", "x"), 2ull << 30);
  EXPECT_FALSE(parse_size("2X", "x"));
}
