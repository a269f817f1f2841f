// ScratchDir: a fresh directory under $TMPDIR (or /tmp) for one test, removed with everything in it.
#pragma once

#include "util/file.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

namespace gpucr::fakes {

class ScratchDir {
 public:
  ScratchDir() {
    const char* base = std::getenv("TMPDIR");
    std::string tmpl = std::string(base && *base ? base : "/tmp") + "/gpucr-unit-XXXXXX";
    char* made = ::mkdtemp(tmpl.data());
    EXPECT_NE(made, nullptr);
    path_ = tmpl;
  }
  ~ScratchDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;

  const fs::path& path() const { return path_; }
  // Writes `text` to path()/rel, creating parent directories.
  fs::path write(const fs::path& rel, std::string_view text) const {
    fs::path p = path_ / rel;
    fs::create_directories(p.parent_path());
    EXPECT_TRUE(write_file_atomic(p, text, 0644).ok()) << p;
    return p;
  }

 private:
  fs::path path_;
};

}  // namespace gpucr::fakes
