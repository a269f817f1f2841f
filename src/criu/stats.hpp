// CRIU's stats-dump / stats-restore files and pstree.img, read for `gpucr inspect` and restore.
#pragma once

#include "criu/image.hpp"
#include "criu_pstree.pb.h"
#include "criu_stats.pb.h"

#include <optional>
#include <vector>

namespace gpucr::criu {

// IMAGE_DIR/stats-dump (or the file named `file`); nullopt when the file does not exist
// (criu writes it only after a successful dump).
Result<std::optional<StatsEntry>> read_stats(const fs::path& dir, const std::string& file = "stats-dump");

// The dumped process tree from IMAGE_DIR/pstree.img.
Result<std::vector<PstreeEntry>> read_pstree(const fs::path& image_dir);

}  // namespace gpucr::criu
