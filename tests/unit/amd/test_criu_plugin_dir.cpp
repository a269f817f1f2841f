// The private plugin directory criu runs with, and which plugins each kind of tree gets.
#include "core/criu_plugins.hpp"
#include "criu/plugin_dir.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

using namespace gpucr;
using namespace gpucr::criu;
using testing::ElementsAre;

namespace {

struct TempDir {
  fs::path path = fs::temp_directory_path() / ("gpucr-plugindir-test-" + std::to_string(::getpid()));
  TempDir() { fs::create_directories(path); }
  ~TempDir() { fs::remove_all(path); }
};

}  // namespace

TEST(CriuPlugins, CpuAndCudaTreesGetNoPluginAmdAndMixedTreesOnlyAmdgpu) {
  EXPECT_TRUE(criu_plugins_for({.cuda = false, .amd = false}).empty());
  EXPECT_TRUE(criu_plugins_for({.cuda = true, .amd = false}).empty());
  EXPECT_THAT(criu_plugins_for({.cuda = false, .amd = true}), ElementsAre("amdgpu_plugin"));
  EXPECT_THAT(criu_plugins_for({.cuda = true, .amd = true}), ElementsAre("amdgpu_plugin"));
}

TEST(CriuPluginDir, HoldsExactlyTheGivenPluginsAsSymlinksAndIsRemoved) {
  TempDir t;
  fs::create_directories(t.path / "installed");
  for (const char* n : {"amdgpu_plugin.so", "cuda_plugin.so"}) std::ofstream(t.path / "installed" / n) << "elf";
  fs::path where;
  {
    auto dir = PluginDir::create(t.path, {{"amdgpu_plugin", t.path / "installed/amdgpu_plugin.so"}});
    ASSERT_TRUE(dir) << dir.error().what;
    where = dir->path();
    EXPECT_EQ(where.parent_path(), t.path);
    EXPECT_EQ(where.filename().string().rfind("gpucr-criu-plugins.", 0), 0u);
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(where)) names.push_back(e.path().filename().string());
    EXPECT_THAT(names, ElementsAre("amdgpu_plugin.so"));
    EXPECT_EQ(fs::read_symlink(where / "amdgpu_plugin.so"), fs::canonical(t.path / "installed/amdgpu_plugin.so"));
    EXPECT_EQ(fs::status(where).permissions() & fs::perms::all, fs::perms::owner_all);
  }
  EXPECT_FALSE(fs::exists(where));  // the destructor removed it
  EXPECT_TRUE(fs::exists(t.path / "installed/amdgpu_plugin.so"));  // not what it linked to
}

TEST(CriuPluginDir, EmptyForATreeWithoutPlugins) {
  TempDir t;
  auto dir = PluginDir::create(t.path, {});
  ASSERT_TRUE(dir);
  EXPECT_TRUE(fs::is_directory(dir->path()));
  EXPECT_TRUE(fs::is_empty(dir->path()));
  fs::path p = dir->path();
  ASSERT_TRUE(dir->remove());
  EXPECT_FALSE(fs::exists(p));
  EXPECT_TRUE(dir->remove());  // idempotent
}

TEST(CriuPluginDir, FindPluginNamesEveryDirectoryLookedAt) {
  TempDir t;
  fs::create_directories(t.path / "b");
  std::ofstream(t.path / "b/amdgpu_plugin.so") << "elf";
  auto found = find_plugin("amdgpu_plugin", {t.path / "a", t.path / "b"});
  ASSERT_TRUE(found);
  EXPECT_EQ(*found, t.path / "b/amdgpu_plugin.so");
  auto missing = find_plugin("amdgpu_plugin", {t.path / "a", "/usr/lib/criu"});
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().exit, Exit::missing_dependency);
  EXPECT_EQ(missing.error().what, "CRIU's amdgpu_plugin is not installed: no amdgpu_plugin.so in " +
                                      (t.path / "a").string() + ", /usr/lib/criu");
  EXPECT_NE(missing.error().hint.find("--criu-plugins-dir"), std::string::npos);
}

TEST(CriuPluginDir, SearchOrderIsEnvThenCriuDefaultThenUsualDirs) {
  auto dirs = plugin_search_dirs("/opt/criu/plugins", fs::path("/usr/lib/criu/"));
  ASSERT_GE(dirs.size(), 3u);
  EXPECT_EQ(dirs[0], "/opt/criu/plugins");
  EXPECT_EQ(dirs[1], "/usr/lib/criu");
  EXPECT_EQ(dirs[2], "/usr/local/lib/criu");  // /usr/lib/criu is not repeated
  EXPECT_EQ(std::count(dirs.begin(), dirs.end(), fs::path("/usr/lib/criu")), 1);
  EXPECT_EQ(plugin_search_dirs(nullptr, std::nullopt), kUsualPluginDirs);
}

TEST(CriuPluginDir, CriuHelpNamesItsDefaultPluginDirectory) {
  EXPECT_EQ(default_libdir_from_help("  -L|--libdir           path to a plugin directory (by default /usr/lib/criu/)\n"),
            fs::path("/usr/lib/criu/"));
  EXPECT_FALSE(default_libdir_from_help("Usage: criu dump\n"));
}
