#include "gpu/amd/files.hpp"

#include <unistd.h>

namespace gpucr::amd {

Result<std::string> DiskFiles::read(const fs::path& path) const { return read_file(path); }

Result<std::vector<std::string>> DiskFiles::list(const fs::path& dir) const { return list_dir(dir); }

bool DiskFiles::exists(const fs::path& path) const { return ::access(path.c_str(), F_OK) == 0; }

}  // namespace gpucr::amd
