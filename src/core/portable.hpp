// Portable checkpoints: `gpucr checkpoint --export FILE|-`, `gpucr restore --import FILE|-` and
// `gpucr inspect FILE` (docs/FORMATS.md, "Checkpoint archives"). Thin functions around the
// checkpoint and restore drivers, which they leave unchanged: an export is a checkpoint followed
// by the phase "write archive"; an import is the phases "read archive", "check destination" and
// "extract archive" followed by a restore of the extracted directory.
//
// Nothing of the destination's configuration comes from an archive: its GPU map is planned here
// (gpu/cuda/device_map.hpp, from --device-map or the restored container's own config.json), its
// bundle, devices and mounts are the destination's; spec.dump and config.dump are only verified.
#pragma once

#include "archive/scratch.hpp"
#include "core/checkpoint.hpp"
#include "core/restore.hpp"

#include <chrono>
#include <optional>
#include <string>

namespace gpucr {

inline constexpr const char* kArchiveManifest = "checkpoint/gpucr-manifest";

struct ArchiveSummary {
  std::string file;               // the path, or "-"
  std::string compression;
  size_t members = 0;             // besides the index
  std::uint64_t data_bytes = 0;   // uncompressed data of the members
  std::uint64_t archive_bytes = 0;  // written (export; 0 when not known)
  fs::path image_dir;             // where the images are (export: kept only with --image-dir)
  bool image_dir_kept = false;
};

struct ExportReport {
  CheckpointReport checkpoint;          // its phases end with "write archive"
  std::optional<ArchiveSummary> archive;  // set when the archive is complete
};

// req.archive must be set. The output is checked (and a file created beside FILE) before the
// checkpoint starts; FILE appears only once the archive is complete. When the checkpoint
// succeeded but the archive could not be written, the images stay in their directory (also a
// private one) and the error says where.
ExportReport export_checkpoint(const CheckpointRequest& req, Host& host);

struct ImportReport {
  RestoreReport restore;                  // its phases start with the archive's
  std::optional<ArchiveSummary> archive;  // set once the archive was read whole
};

// req.archive must be set. A refused archive (hostile, damaged, or a destination that can't
// take it) leaves nothing behind. After a failed restore the extracted images stay, and the
// error says where (a retry: `gpucr restore --image-dir DIR`).
ImportReport import_and_restore(const RestoreRequest& req, Host& host);

// `gpucr inspect FILE`: every member is read and verified; the small ones (all but the page
// images) are extracted into a private directory for inspect() to read; it goes with the view.
struct ArchiveView {
  archive::ScratchDir dir;
  ArchiveSummary summary;
  std::uint64_t image_bytes = 0;  // the files below checkpoint/
  size_t image_files = 0;
  std::vector<std::string> top_level;  // members beside checkpoint/ (spec.dump, config.dump)
};
Result<ArchiveView> open_archive_view(int fd, const std::string& file, const fs::path& scratch_parent);

// An archive in messages: "archive FILE", or for "-" "the archive on stdout" (`written`) or
// "the archive on stdin".
std::string archive_name(const std::string& file, bool written = false);

}  // namespace gpucr
