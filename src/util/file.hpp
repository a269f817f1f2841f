// Files and directories: whole-file reads, atomic writes, private directories.
#pragma once

#include "util/result.hpp"

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace gpucr {

namespace fs = std::filesystem;

Result<std::string> read_file(const fs::path& path);

// Reads a file that someone else may have placed (an image directory, a run directory): it must
// be a regular file (a FIFO, device or socket is refused at once, by name; a symlink in its last
// component is not followed) of at most `max_bytes`, and, when `owner` is given, belong to that
// user and be writable by no one else.
struct ReadLimits {
  std::uint64_t max_bytes = 64ull << 20;
  std::optional<uid_t> owner;
};
Result<std::string> read_untrusted(const fs::path& path, const ReadLimits& limits = {});

// Writes `data` to a temporary file beside `path`, fsyncs it, renames it over `path` and
// fsyncs the directory: readers see the old or the new content, never a mix.
Status write_file_atomic(const fs::path& path, std::string_view data, mode_t mode = 0600);

// The last step of an atomic write: fsyncs `fd` (the written temporary file `tmp`), renames `tmp`
// over `path`, fsyncs `path`'s directory.
Status commit_file(int fd, const fs::path& tmp, const fs::path& path);

// Removes `dir` and everything below it; a missing one is fine.
Status remove_tree(const fs::path& dir);

// Creates `dir` (and missing parents) with mode 0700. An existing directory must be empty
// when `must_be_empty`, and its mode is then tightened to 0700; otherwise (a work dir the user
// named, possibly /tmp) it is used as it is.
Status make_private_dir(const fs::path& dir, bool must_be_empty);

// A directory that gpucr will create or fill (an image directory): ok when it does not exist or
// is an empty directory. Refused with a message that says what is there: a symbolic link (and
// whether it dangles), something that is not a directory, a directory that is not empty.
Status check_new_dir(const fs::path& dir, const std::string& what);

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
