// Reads and extracts a gpucr checkpoint archive, which is hostile input (docs/FORMATS.md,
// "Checkpoint archives"; docs/FACTS.md §10):
//   - the first member must be gpucr's index (archive/index.hpp); every later member must be the
//     index's next entry: same name, kind and size, and at its end the same CRC-32;
//   - only regular files and the one directory "checkpoint/" are accepted: absolute names, "..",
//     symbolic and hard links, devices, fifos, sockets, setuid/setgid/sticky bits and sparse
//     members are refused, naming the member;
//   - members before `head` (the manifest) are small and held in memory, so a caller can judge
//     the archive before anything is written;
//   - the files below "checkpoint/" go into one directory, each created with
//     openat(dirfd, NAME, O_CREAT|O_EXCL|O_NOFOLLOW, 0600) (NAME is a single safe component), after
//     a check that the file system has room for all of them (a decompression bomb is refused
//     before a byte is written); top-level members (spec.dump, config.dump) are only verified;
//   - any failure removes every file extraction made (and the directory, when it made it).
// libarchive's own disk writer (archive_write_disk) is not used.
#pragma once

#include "archive/index.hpp"
#include "archive/reader.hpp"

#include <atomic>
#include <filesystem>
#include <functional>
#include <map>

namespace gpucr::archive {

namespace fs = std::filesystem;

inline constexpr std::uint64_t kMaxHeadMember = 16 << 20;

struct Head {
  Index index;
  std::map<std::string, std::string> members;  // name -> data of every member up to the head
  std::string compression;                      // "zstd", "gzip", "none"
};

struct ExtractOptions {
  fs::path dir;  // receives the files below checkpoint/: made 0700 when missing, else must be empty
  // Which of them are written (default: all); the others are read and verified only.
  std::function<bool(std::string_view file)> write;
  std::atomic<std::uint64_t>* done = nullptr;  // member bytes read so far
  std::function<bool()> cancelled;             // asked between blocks: true stops (and cleans up)
};

struct ExtractResult {
  size_t files_written = 0;
  std::uint64_t bytes_written = 0;
  std::uint64_t bytes_verified = 0;  // every member's data
};

class Extractor {
 public:
  // Reads the index and the members up to and including `head` (a member the index must list,
  // e.g. "checkpoint/gpucr-manifest"). `what` names the archive in messages.
  static Result<Extractor> open(int fd, std::string what, const std::string& head);
  const Head& head() const { return head_; }
  // Reads every remaining member, writes and verifies as ExtractOptions says. Call once.
  Result<ExtractResult> extract(const ExtractOptions& o);

 private:
  Extractor(Reader r) : reader_(std::move(r)) {}
  Result<Member> next_listed(size_t i);
  Reader reader_;
  Head head_;
  size_t next_ = 0;  // index of the next entry to read
};

// Refuses a member gpucr never writes: a link, a device, a fifo or socket, special mode bits, a
// sparse member, or an unsafe name. Ok for a regular file or directory with a safe name (`index`:
// the index itself, whose name is reserved).
Status check_member(const Member& m, const std::string& what, bool index = false);

}  // namespace gpucr::archive
