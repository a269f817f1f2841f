// Reads a checkpoint archive from a file descriptor (a file or a pipe) through libarchive: the
// tar format only, and only the gzip and zstd filters besides none (no external programs: a
// filter that would need one is an error; no other format's parser is reachable). It reports
// members as the archive describes them; what is acceptable is the extractor's decision
// (archive/extract.hpp). Data is read block by block, never skipped (docs/FACTS.md §10).
#pragma once

#include "util/result.hpp"

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

struct archive;

namespace gpucr::archive {

struct Member {
  std::string name;             // the path as stored
  unsigned filetype = 0;        // AE_IFREG, AE_IFDIR, AE_IFLNK, AE_IFCHR, ... (archive_entry.h)
  std::uint64_t size = 0;
  bool size_set = false;
  unsigned mode_bits = 0;       // permission bits with setuid, setgid and sticky
  std::string hardlink;         // non-empty: a hard link to this name
  std::string symlink;          // non-empty: a symbolic link to this target
  bool sparse = false;

  std::string describe() const;  // "symbolic link 'x' -> '/etc'", "character device 'd'", ...
};

class Reader {
 public:
  // `what` names the archive in messages ("archive /tmp/a.tar.zst", "the archive on stdin").
  static Result<Reader> open(int fd, std::string what);
  Reader(Reader&&) noexcept;
  Reader& operator=(Reader&&) noexcept;
  ~Reader();

  // The next member, or nullopt at the end of the archive.
  Result<std::optional<Member>> next();
  // Passes exactly the current member's `size` bytes to `sink`, in order. A hole (sparse data),
  // a short or long member, or a read error is an error naming the member.
  Status read_data(const Member& m, const std::function<Status(std::string_view)>& sink);
  // "zstd", "gzip" or "none", known once the first member was read.
  std::string compression() const;
  const std::string& what() const { return what_; }

 private:
  Reader() = default;
  Error error(const std::string& doing) const;
  struct ::archive* a_ = nullptr;
  std::string what_;
};

}  // namespace gpucr::archive
