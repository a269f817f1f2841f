// Writes a checkpoint archive (docs/FORMATS.md, "Checkpoint archives") through libarchive: a tar
// (pax restricted: plain ustar unless a member needs more) compressed with zstd (on several
// threads), gzip or nothing, to a file descriptor the caller owns (a file or a pipe).
//
// Members are planned first (ArchivePlan: files, bytes, the "checkpoint/" directory), which
// computes each file's CRC-32 for the index; write_archive() then writes the index as the first
// member and every planned member in order, checking that each file still has the size and CRC
// the index promises. libarchive pads a member that is written short with NULs without a word,
// so every byte is counted here.
#pragma once

#include "archive/compression.hpp"
#include "archive/index.hpp"

#include <atomic>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace gpucr::archive {

namespace fs = std::filesystem;

struct WriteOptions {
  Compression compression = Compression::zstd;
  int threads = 1;  // zstd worker threads
  std::function<bool()> cancelled;  // asked between blocks: true stops the writing with an error
};

class ArchivePlan {
 public:
  void add_dir(const std::string& name);
  void add_bytes(const std::string& name, std::string data);
  // A regular file (not a link); its CRC is computed when plan_crcs() runs.
  Status add_file(const std::string& name, const fs::path& path);
  // Computes the CRC of every planned file, `threads` at a time, in chunks of `chunk` bytes
  // (combined with zlib's crc32_combine).
  Status plan_crcs(int threads, std::uint64_t chunk = 64 << 20);

  const Index& index() const { return index_; }
  const fs::path& path_of(size_t i) const { return paths_[i]; }
  const std::string& bytes_of(size_t i) const { return bytes_[i]; }

 private:
  Index index_;
  std::vector<fs::path> paths_;     // per entry: the file (empty for bytes and dirs)
  std::vector<std::string> bytes_;  // per entry: the data of a bytes member
};

struct WriteResult {
  std::uint64_t bytes_in = 0;   // uncompressed data of the members
  std::uint64_t bytes_out = 0;  // what was written to the descriptor
};

// Writes the whole archive to `fd` (not closed, not fsynced). SIGPIPE is ignored meanwhile, so
// a reader that went away is a write error (EPIPE), not a silent death. `done` (optional)
// counts the member bytes written so far, for progress. `what` names the destination.
Result<WriteResult> write_archive(int fd, const WriteOptions& o, const ArchivePlan& plan, const std::string& what,
                                  std::atomic<std::uint64_t>* done = nullptr);

}  // namespace gpucr::archive
