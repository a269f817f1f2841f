// `gpucr inspect DIR`: what a CRIU image directory holds, gpucr's or not.
#pragma once

#include "criu/inventory.hpp"
#include "criu/plugins.hpp"
#include "criu/stats.hpp"
#include "manifest.pb.h"

#include <nlohmann/json.hpp>

#include <optional>

namespace gpucr {

struct InspectReport {
  fs::path dir;
  std::optional<pb::Manifest> manifest;
  criu::Inventory inventory;
  criu::PluginPlan plugin_plan;  // what the plugins field means for a restore on this host
  std::vector<criu::PstreeEntry> pstree;
  std::optional<criu::StatsEntry> dump_stats;
  std::optional<criu::StatsEntry> restore_stats;
  std::uint64_t image_bytes = 0;
  size_t files = 0;
  std::optional<std::string> archive;  // set when `dir` is an archive: one line about it
};

// Fails (bad_input) when DIR is not a readable CRIU image directory or a file in it is corrupt.
// `probe` and `plugin_dir` (criu's plugin directory) say which GPU handlers this host has.
Result<InspectReport> inspect(const fs::path& dir, const criu::HandlerProbe& probe, const fs::path& plugin_dir);

nlohmann::json to_json(const InspectReport& r);
std::string to_text(const InspectReport& r);

// A protobuf message as JSON (field names in lowerCamelCase, as protobuf's JSON mapping says).
nlohmann::json message_to_json(const google::protobuf::Message& m);

}  // namespace gpucr
