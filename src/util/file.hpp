// Files and directories: whole-file reads, atomic writes, private directories.
#pragma once

#include "util/result.hpp"

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace gpucr {

namespace fs = std::filesystem;

Result<std::string> read_file(const fs::path& path);

// Writes `data` to a temporary file beside `path`, fsyncs it, renames it over `path` and
// fsyncs the directory: readers see the old or the new content, never a mix.
Status write_file_atomic(const fs::path& path, std::string_view data, mode_t mode = 0600);

// Creates `dir` (and missing parents) with mode 0700. An existing directory must be empty
// when `must_be_empty`, and its mode is then tightened to 0700; otherwise (a work dir the user
// named, possibly /tmp) it is used as it is.
Status make_private_dir(const fs::path& dir, bool must_be_empty);

// Names in `dir` (no "." or ".."), sorted.
Result<std::vector<std::string>> list_dir(const fs::path& dir);

// Total size in bytes of the regular files directly in `dir`.
Result<std::uint64_t> dir_size(const fs::path& dir);

// True when `name` is safe as one path component: not empty, not "." or "..", no '/', no NUL,
// no leading '-', only [A-Za-z0-9._-], at most 128 characters.
bool is_safe_name(std::string_view name);

// True when `path` is a file system of type tmpfs (or ramfs): its pages count as memory.
bool is_on_tmpfs(const fs::path& path);

}  // namespace gpucr
