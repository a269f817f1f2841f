// The file seam the AMD code reads the system through: sysfs (KFD topology), /dev (render
// nodes), /proc (meminfo, capabilities). Real: DiskFiles. Tests read fixture trees with
// DiskFiles and wrap it to make some files unreadable, as a device cgroup does for a hidden GPU
// (tests/unit/amd/amd_fakes.hpp).
#pragma once

#include "util/file.hpp"

#include <string>
#include <vector>

namespace gpucr::amd {

class Files {
 public:
  virtual ~Files() = default;
  // The whole content of a file; the error names the path and the reason (e.g. EPERM).
  virtual Result<std::string> read(const fs::path& path) const = 0;
  // Entry names of a directory, sorted.
  virtual Result<std::vector<std::string>> list(const fs::path& dir) const = 0;
  virtual bool exists(const fs::path& path) const = 0;
};

class DiskFiles : public Files {
 public:
  Result<std::string> read(const fs::path& path) const override;
  Result<std::vector<std::string>> list(const fs::path& dir) const override;
  bool exists(const fs::path& path) const override;
};

}  // namespace gpucr::amd
