// The AMD part of `gpucr inspect DIR`: the recorded topology, AMD processes and buffers, and,
// on this host, the GPU mapping a restore would use (or the mismatch table).
#pragma once

#include "core/amd_restore.hpp"

#include <nlohmann/json.hpp>

namespace gpucr {

struct AmdInspect {
  AmdImage image;                           // image.needed false: no AMD state, nothing to show
  std::optional<pb::AmdCheckpoint> record;  // the manifest's record, when gpucr wrote the image
  bool local_known = false;                 // the local topology could be read
  std::string local_note;                   // why there is no mapping, when there is none
  amd::Mapping mapping;                     // meaningful when local_known
};

// `host` may be null (no local mapping then).
Result<AmdInspect> inspect_amd(const fs::path& dir, const std::optional<pb::Manifest>& manifest, const AmdHost* host,
                               const amd::Checks& checks);

nlohmann::json to_json(const AmdInspect& a);   // null when the image has no AMD state
std::string to_text(const AmdInspect& a);      // empty when the image has no AMD state

}  // namespace gpucr
