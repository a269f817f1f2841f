// inventory.img: read, inspect and rewrite the `plugins` field (CRIU >= 4.1).
//
// The field's three states mean different things to a restore (docs/FORMATS.md):
//   missing -> written by an older CRIU: every installed plugin is enabled;
//   empty   -> no GPU plugin state in the image: plugins may all be disabled;
//   listed  -> each named plugin (e.g. "cuda_plugin", "amdgpu_plugin") must handle the restore.
#pragma once

#include "criu/image.hpp"
#include "criu_inventory.pb.h"

#include <string>
#include <vector>

namespace gpucr::criu {

enum class PluginsField { missing, empty, listed };
const char* to_string(PluginsField f);

// `entry` is the typed view; `raw` the entry's bytes as read. serialize_inventory() writes `raw`
// back byte for byte (fields unknown to proto/criu_inventory.proto included, in their places)
// except the plugins field, which it takes from `entry` when that changed. Other edits to
// `entry` are written only for an Inventory built in memory (empty `raw`).
struct Inventory {
  InventoryEntry entry;
  std::string raw;

  PluginsField plugins_field() const;
  std::vector<std::string> plugins() const;
  void set_plugins(const std::vector<std::string>& names);  // empty vector: an empty field
};

// Parses the bytes of an inventory.img (`name` is used in messages). Any framing or protobuf
// damage, trailing data, or a missing img_version is an error.
Result<Inventory> parse_inventory(std::string_view bytes, const std::string& name);
std::string serialize_inventory(const Inventory& inv);

Result<Inventory> read_inventory(const fs::path& image_dir);
// Atomically replaces IMAGE_DIR/inventory.img (temporary file + fsync + rename).
Status write_inventory(const fs::path& image_dir, const Inventory& inv);

// After a successful dump: makes IMAGE_DIR/inventory.img list exactly `names`, the GPU handlers
// whose state the image holds, with CRIU's names ("cuda_plugin", "amdgpu_plugin"); no names
// writes an empty field (also when criu was too old to write one). Every other field keeps its
// bytes (CRIU writes fields in number order, as protobuf does; unknown ones are kept verbatim
// and stay last). The file is replaced atomically and only when its content changes.
Status record_plugins(const fs::path& image_dir, const std::vector<std::string>& names);

inline constexpr const char* kInventoryFile = "inventory.img";

}  // namespace gpucr::criu
