// criu/locate: reading criu's version and finding the binary (--criu, $GPUCR_CRIU, PATH).
#include "criu/locate.hpp"

#include "support.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>

using namespace gpucr;
using namespace gpucr::fakes;
using ::testing::HasSubstr;

TEST(CriuLocate, ParsesVersionWithGitId) {
  auto v = criu::parse_version("Version: 4.1.1\nGitID: v4.1.1-12-gdeadbee\n");
  ASSERT_TRUE(v);
  EXPECT_EQ(*v, (criu::Version{4, 1, 1}));
  EXPECT_EQ(v->str(), "4.1.1");
}

TEST(CriuLocate, ParsesTwoPartVersion) {
  auto v = criu::parse_version("Version: 3.17\n");
  ASSERT_TRUE(v);
  EXPECT_EQ(*v, (criu::Version{3, 17, 0}));
}

TEST(CriuLocate, FindsTheVersionLineAmongOthers) {
  auto v = criu::parse_version("some warning\n  Version: 4.0\n");
  ASSERT_TRUE(v);
  EXPECT_EQ(*v, (criu::Version{4, 0, 0}));
}

TEST(CriuLocate, UnreadableVersionIsAMissingDependency) {
  for (const char* text : {"", "criu: command not found\n", "Version: x.y\n"}) {
    auto v = criu::parse_version(text);
    ASSERT_FALSE(v) << text;
    EXPECT_EQ(v.error().exit, Exit::missing_dependency);
    EXPECT_THAT(v.error().what, HasSubstr("cannot read criu's version"));
  }
}

TEST(CriuLocate, VersionsCompareNumerically) {
  EXPECT_LT((criu::Version{3, 17, 1}), criu::kMinimum);
  EXPECT_LT((criu::Version{4, 0, 9}), criu::kPluginsField);
  EXPECT_GE((criu::Version{4, 10, 0}), criu::kPluginsField);
}

TEST(CriuLocate, RequireVersionNamesPathVersionAndPurpose) {
  criu::Binary b{"/opt/criu", {3, 17, 1}, "PATH"};
  auto st = criu::require_version(b, criu::kMinimum, "gpucr");
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().exit, Exit::missing_dependency);
  EXPECT_THAT(st.error().what, HasSubstr("criu 3.17.1 at /opt/criu is too old: gpucr needs criu >= 4.0.0"));
  EXPECT_TRUE(criu::require_version({"/x", {4, 1, 1}, "PATH"}, criu::kPluginsField, "plugins"));
}

namespace {
// A fake criu: a shell script printing `version_output` for --version.
fs::path fake_criu(const TempDir& dir, const std::string& version_output, int code = 0) {
  fs::path p = dir / "criu";
  put_file(p, "#!/bin/sh\nprintf '" + version_output + "'\nexit " + std::to_string(code) + "\n");
  fs::permissions(p, fs::perms::owner_all);
  return p;
}

class EnvGuard {
 public:
  explicit EnvGuard(const char* name) : name_(name) {
    if (const char* v = std::getenv(name)) old_ = v;
  }
  ~EnvGuard() {
    if (old_) ::setenv(name_, old_->c_str(), 1);
    else ::unsetenv(name_);
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};
}  // namespace

TEST(CriuLocate, FlagWinsOverEnvironment) {
  TempDir dir;
  EnvGuard guard("GPUCR_CRIU");
  ::setenv("GPUCR_CRIU", "/nonexistent/criu", 1);
  auto bin = criu::locate(fake_criu(dir, "Version: 4.2\\n"));
  ASSERT_TRUE(bin) << bin.error().what;
  EXPECT_EQ(bin->version, (criu::Version{4, 2, 0}));
  EXPECT_EQ(bin->source, "--criu");
  EXPECT_EQ(bin->path, dir / "criu");
}

TEST(CriuLocate, EnvironmentIsUsedWithoutFlag) {
  TempDir dir;
  EnvGuard guard("GPUCR_CRIU");
  ::setenv("GPUCR_CRIU", fake_criu(dir, "Version: 4.1.1\\n").c_str(), 1);
  auto bin = criu::locate(std::nullopt);
  ASSERT_TRUE(bin) << bin.error().what;
  EXPECT_EQ(bin->source, "$GPUCR_CRIU");
}

TEST(CriuLocate, MissingCriuSaysWhereItLooked) {
  EnvGuard guard("GPUCR_CRIU");
  ::setenv("GPUCR_CRIU", "/nonexistent/criu", 1);
  auto bin = criu::locate(std::nullopt);
  ASSERT_FALSE(bin);
  EXPECT_EQ(bin.error().exit, Exit::missing_dependency);
  EXPECT_THAT(bin.error().what, HasSubstr("GPUCR_CRIU=/nonexistent/criu is not an executable file"));
  EXPECT_THAT(bin.error().hint, HasSubstr("--criu PATH"));

  bin = criu::locate(fs::path("/nonexistent/criu"));
  ASSERT_FALSE(bin);
  EXPECT_THAT(bin.error().what, HasSubstr("--criu /nonexistent/criu is not an executable file"));
}

TEST(CriuLocate, TooOldCriuIsRefused) {
  TempDir dir;
  auto bin = criu::locate(fake_criu(dir, "Version: 3.17.1\\n"));
  ASSERT_FALSE(bin);
  EXPECT_EQ(bin.error().exit, Exit::missing_dependency);
  EXPECT_THAT(bin.error().what, HasSubstr("too old"));
}

TEST(CriuLocate, FailingVersionCommandIsReported) {
  TempDir dir;
  auto bin = criu::locate(fake_criu(dir, "", 3));
  ASSERT_FALSE(bin);
  EXPECT_EQ(bin.error().exit, Exit::missing_dependency);
  EXPECT_THAT(bin.error().what, HasSubstr("--version failed (exit code 3)"));
}
