// Private image directories gpucr makes for itself: `checkpoint --export` without --image-dir
// writes the images there until the archive is complete; `restore --import` without
// --image-dir extracts there. PARENT/gpucr-PURPOSE-XXXXXX (mkdtemp: mode 0700, a fresh name).
#pragma once

#include "util/result.hpp"

#include <cstdint>
#include <filesystem>
#include <string>

namespace gpucr::archive {

namespace fs = std::filesystem;

class ScratchDir {
 public:
  // `parent` must exist; the directory is made inside it.
  static Result<ScratchDir> create(const fs::path& parent, const std::string& purpose);
  ScratchDir() = default;
  ScratchDir(ScratchDir&& o) noexcept;
  ScratchDir& operator=(ScratchDir&& o) noexcept;
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  ~ScratchDir();  // removes the directory unless keep() was called

  const fs::path& path() const { return path_; }
  bool empty() const { return path_.empty(); }
  // Leaves the directory in place (it holds the only copy of the images).
  void keep() { kept_ = true; }
  Status remove();

 private:
  fs::path path_;
  bool kept_ = false;
};

// Bytes an unprivileged writer may still write on the file system of `dir` (statvfs f_bavail).
Result<std::uint64_t> free_bytes(const fs::path& dir);

}  // namespace gpucr::archive
