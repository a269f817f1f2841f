// gpucr's index of a checkpoint archive (docs/FORMATS.md, "Checkpoint archives"): the archive's
// first member, "gpucr-index", lists every later member in archive order with its size and the
// CRC-32 (zlib) of its data. A tar cut at a member boundary reads as a clean end of archive, and
// neither libarchive's gzip nor its zstd reader checks a checksum, so the index is what makes a
// truncated or damaged archive visible: a reader accepts exactly the members the index lists, in
// its order, and only when every one was seen with its size and CRC.
//
//   index   = "gpucr-index 1" LF *entry "end" SP count SP crc LF
//   entry   = kind SP size SP crc SP name LF
//   kind    = "d" / "f"                 directory / regular file
//   size    = 1*20DIGIT                 bytes of data (0 for "d")
//   crc     = 8(DIGIT / "a"-"f")        CRC-32 of the data (00000000 for "d"); for "end": of
//                                       every byte of the index before "end"
//   count   = 1*DIGIT                   number of entries
//   name    = "checkpoint/" / file      "checkpoint/" is the only directory
//   file    = [ "checkpoint/" ] NAME     NAME: 1-128 of [A-Za-z0-9._-], not "." or "..", no
//                                       leading "-" (util/file.hpp is_safe_name)
#pragma once

#include "util/result.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace gpucr::archive {

inline constexpr const char* kIndexName = "gpucr-index";
inline constexpr const char* kCheckpointDir = "checkpoint/";
inline constexpr std::uint64_t kMaxIndexBytes = 4 << 20;
inline constexpr size_t kMaxEntries = 100000;

enum class Kind { file, dir };

struct IndexEntry {
  std::string name;
  Kind kind = Kind::file;
  std::uint64_t size = 0;
  std::uint32_t crc = 0;
};

struct Index {
  std::vector<IndexEntry> entries;
  std::uint64_t file_bytes() const;                    // the data of every file entry
  const IndexEntry* find(std::string_view name) const;  // null when not listed
};

// True when `name` may name a member of `kind` (the grammar above).
bool valid_member_name(std::string_view name, Kind kind);
// The part after "checkpoint/", or "" for a top-level name.
std::string_view image_file_name(std::string_view member);

std::string encode_index(const Index& index);
// Refuses (bad_input) anything the grammar does not allow: an unsafe or repeated name, a file
// below "checkpoint/" before that directory, a wrong count or checksum. `what` names the archive.
Result<Index> decode_index(std::string_view text, const std::string& what);

std::uint32_t crc32_of(std::uint32_t crc, const void* data, size_t n);
std::string crc_hex(std::uint32_t crc);

}  // namespace gpucr::archive
