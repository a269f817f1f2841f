// AMD harness support: the fixture topologies (tests/fixtures/kfd) read with the real sysfs
// reader, and an in-memory sysfs tree built from a fuzz input.
#pragma once

#include "fuzz_support.hpp"
#include "gpu/amd/files.hpp"
#include "gpu/amd/topology_read.hpp"

#include <cerrno>
#include <map>
#include <set>

namespace gpucr::fuzz {

// tests/fixtures/kfd/NAME, read once: under $GPUCR_FUZZ_FIXTURES (scripts/fuzz.sh sets it to the
// repository's tests/fixtures), else tests/fixtures of the current directory. A path compiled in
// would make every clone's harness objects differ, and ccache miss them.
inline amd::Topology fixture_topology(const std::string& name) {
  const char* env = std::getenv("GPUCR_FUZZ_FIXTURES");
  fs::path root = env && *env ? fs::path(env) : fs::path("tests/fixtures");
  auto t = amd::read_topology(amd::DiskFiles(), root / "kfd" / name);
  if (!t) {
    std::fprintf(stderr, "gpucr fuzz: fixture %s: %s (run from the repository root, or set GPUCR_FUZZ_FIXTURES)\n",
                 name.c_str(), t.error().what.c_str());
    std::abort();
  }
  return *t;
}

// A sysfs tree under "/t" from text: a line "@PATH" starts the file PATH (relative to /t), the
// lines up to the next "@" line are its content; "@!PATH" is a file that exists but can't be
// read (EPERM, as for a GPU the device cgroup hides).
class MemFiles : public amd::Files {
 public:
  explicit MemFiles(std::string_view text) {
    std::string* content = nullptr;
    for (const auto& line : split_at(text, "\n")) {
      if (!line.empty() && line[0] == '@') {
        bool denied = line.size() > 1 && line[1] == '!';
        std::string name = "/t/" + line.substr(denied ? 2 : 1);
        if (denied) {
          denied_.insert(name);
          content = nullptr;
        } else {
          content = &files_[name];
          content->clear();
        }
        continue;
      }
      if (content) *content += line + "\n";
    }
  }
  Result<std::string> read(const fs::path& path) const override {
    if (denied_.count(path.string())) return fail(sys_error("cannot open " + path.string(), EPERM));
    auto it = files_.find(path.string());
    if (it == files_.end()) return fail(sys_error("cannot open " + path.string(), ENOENT));
    return it->second;
  }
  Result<std::vector<std::string>> list(const fs::path& dir) const override {
    std::string prefix = dir.string() + "/";
    std::set<std::string> names;
    auto add = [&](const std::string& p) {
      if (p.size() > prefix.size() && p.compare(0, prefix.size(), prefix) == 0) {
        names.insert(p.substr(prefix.size(), p.find('/', prefix.size()) - prefix.size()));
      }
    };
    for (const auto& [p, c] : files_) add(p);
    for (const auto& p : denied_) add(p);
    if (names.empty()) return fail(sys_error("cannot list " + dir.string(), ENOENT));
    return std::vector<std::string>(names.begin(), names.end());
  }
  bool exists(const fs::path& path) const override {
    std::string p = path.string();
    if (files_.count(p) || denied_.count(p)) return true;
    return list(path).ok();
  }

 private:
  std::map<std::string, std::string> files_;
  std::set<std::string> denied_;
};

}  // namespace gpucr::fuzz
