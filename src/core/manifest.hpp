// gpucr's manifest file, IMAGE_DIR/gpucr-manifest:
//
//   file     = magic version length checksum payload
//   magic    = "GPUCRMAN"                      8 bytes
//   version  = u32le                           envelope format version (kManifestFormat)
//   length   = u32le                           payload size in bytes
//   checksum = u32le                           CRC-32 (zlib) of the payload
//   payload  = serialized gpucr.pb.Manifest    (proto/manifest.proto)
//
// Compatibility: readers accept every format version <= kManifestFormat and refuse newer ones
// with a message; fields are only ever added to the payload (proto3), so version 1 stays
// readable as long as the envelope is unchanged.
#pragma once

#include "manifest.pb.h"
#include "util/file.hpp"

#include <optional>

namespace gpucr {

inline constexpr std::uint32_t kManifestFormat = 1;
inline constexpr const char* kManifestFile = "gpucr-manifest";

std::string encode_manifest(const pb::Manifest& m);
Result<pb::Manifest> decode_manifest(std::string_view bytes, const std::string& name);

// nullopt when IMAGE_DIR has no manifest (an image not written by gpucr).
Result<std::optional<pb::Manifest>> read_manifest(const fs::path& image_dir);
Status write_manifest(const fs::path& image_dir, const pb::Manifest& m);

// The fields every checkpoint's manifest has: gpucr and criu versions, host, kernel, time.
void fill_manifest_header(pb::Manifest& m, const std::string& criu_version);

}  // namespace gpucr
