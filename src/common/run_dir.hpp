// gpucr's run directory: where an operation keeps what must outlive the gpucr that runs it.
//
//   RUN_DIR/                  /run/gpucr, or $GPUCR_RUN_DIR (an absolute path); created by gpucr
//                             with mode 0700, owned by gpucr's effective user (root)
//     ops/                    one journal per operation under way (recovery/journal.hpp) and its
//                             side files: <op>.criu.conf (a runtime's criu configuration),
//                             <op>.sock (criu's action scripts reach gpucr through it),
//                             <op>.tmp/ (the operation's scratch directory: criu's plugin dir)
//     locks/                  one lock per process tree under a checkpoint (core/tree_lock.hpp)
//     containers/             <id>.lock (runtime/lock.hpp), <id>/devices.json (core/container_gpus.hpp)
//     thp/                    the shared huge-page window (mm/thp_window.hpp): lock, <op>.holder,
//                             original
//     guardian.log            what guardians printed
//     recovery.log            what every recovery did, with timestamps
//
// A directory gpucr did not make safe is never used: one that exists but is not a directory, is
// a symlink, is owned by another user or can be written or read by group or others is refused,
// because journals there name processes gpucr acts on as root (ARCHITECTURE.md, "Safety").
// This is the run-directory seam: production uses the path below, tests a temporary directory.
#pragma once

#include "util/result.hpp"

#include <sys/types.h>

#include <filesystem>
#include <string>

namespace gpucr {

class RunDir {
 public:
  // `owner`: the user every directory here must belong to (gpucr's effective user).
  RunDir(std::filesystem::path root, uid_t owner) : root_(std::move(root)), owner_(owner) {}

  // $GPUCR_RUN_DIR when set (it must be absolute), else /run/gpucr. `env` is the variable's value.
  static Result<std::filesystem::path> path_from(const char* env);

  const std::filesystem::path& root() const { return root_; }
  uid_t owner() const { return owner_; }
  std::filesystem::path ops() const { return root_ / "ops"; }
  std::filesystem::path locks() const { return root_ / "locks"; }
  std::filesystem::path containers() const { return root_ / "containers"; }
  std::filesystem::path thp() const { return root_ / "thp"; }
  std::filesystem::path file(const std::string& name) const { return root_ / name; }

  // Creates RUN_DIR and the subdirectory `sub` of it ("ops", "locks", "containers", "thp"; empty: none)
  // with mode 0700 when missing, and checks each is one gpucr can trust.
  Status ensure(const std::string& sub = {}) const;
  // The same check without creating anything; ok when `dir` does not exist.
  Status check_existing(const std::filesystem::path& dir) const;

 private:
  std::filesystem::path root_;
  uid_t owner_;
};

}  // namespace gpucr
