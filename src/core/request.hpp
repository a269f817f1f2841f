// What a checkpoint or a restore is asked to do: one request struct per operation, filled once
// by the command line (cli/checkpoint.cpp, cli/restore.cpp) and once by the OCI runtime wrapper
// (cli/wrapper.cpp), for process trees and containers alike.
//
// The criu flags live in CriuOptions and nowhere else. How each reaches criu:
//
//   flag                     process tree         container (criu run by the OCI runtime)
//   --tcp-established        criu argv            runtime argv (--tcp-established)
//   --ext-unix-sk            criu argv            runtime argv (--ext-unix-sk)
//   --shell-job              criu argv            runtime argv (--shell-job)
//   --file-locks             criu argv            runtime argv (--file-locks)
//   --manage-cgroups-mode    criu argv            runtime argv (--manage-cgroups-mode)
//   --timeout                criu argv            criu configuration file (CRIU_CONFIG_FILE)
//   --criu-plugins-dir       criu --libdir        criu configuration file (libdir)
//   --criu-log-level         criu -vN             refused: runc sets criu's log level over RPC,
//                                                 which outranks a configuration file
//   --freeze-cgroup          criu argv            refused: the runtime freezes the container's
//                                                 own cgroup over RPC
// (criu reads $CRIU_CONFIG_FILE in RPC mode before the RPC options, which override it:
// docs/CONTAINERS.md, "criu options".)
#pragma once

#include "archive/compression.hpp"
#include "core/amd_host.hpp"
#include "core/cuda_process.hpp"
#include "criu/args.hpp"
#include "mm/thp_window.hpp"

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace gpucr {

namespace fs = std::filesystem;

using CriuOptions = criu::Options;  // criu/args.hpp

// A container, reached through its OCI runtime.
struct ContainerRef {
  std::string id;
  fs::path runtime;                         // the runtime's executable (runc, crun)
  std::vector<std::string> globals;         // its global options (--root DIR, ...), verbatim
  // The runtime wrapper's case: the engine's arguments from the command word on, run exactly
  // as given. Otherwise gpucr builds them from the request.
  std::optional<std::vector<std::string>> verbatim;
  // Restore: the bundle and the console socket handed to the runtime.
  std::optional<fs::path> bundle;
  std::optional<fs::path> console_socket;
};

// `checkpoint --export FILE|-`: the checkpoint as one archive (core/portable.hpp).
struct ArchiveOut {
  std::string file;                 // the archive's path (absolute), or "-": written to `fd`
  int fd = -1;                      // with "-": the descriptor (the command line's stdout)
  archive::Compression compression = archive::Compression::zstd;
  fs::path scratch_parent;          // without an image directory: where the private one goes
};

// `restore --import FILE|-`: the checkpoint read from one archive (core/portable.hpp).
struct ArchiveIn {
  std::string file;                 // the archive's path (absolute), or "-": read from `fd`
  int fd = -1;                      // with "-": the descriptor (the command line's stdin)
  fs::path scratch_parent;          // without an image directory: where the private one goes
};

struct CheckpointRequest {
  pid_t pid = 0;                            // a process tree, or
  std::optional<ContainerRef> container;    // a container
  fs::path image_dir;                       // absolute
  std::optional<fs::path> work_dir;         // absolute; default: the image directory
  bool leave_running = false;
  CriuOptions criu;
  CudaOptions cuda;
  std::chrono::milliseconds lock_wait{60000};  // another gpucr operation holds the tree or container
  std::optional<std::chrono::seconds> criu_deadline;  // default: core/criu_deadline.hpp
  mm::ThpWindow thp_window = mm::ThpWindow::off;      // --thp-window[=force] (core/thp_staging.hpp)
  // --export: the images also go into one archive; image_dir may then be empty (a private
  // directory, removed once the archive is complete).
  std::optional<ArchiveOut> archive;
};

struct RestoreRequest {
  std::optional<ContainerRef> container;    // a container; none: the process tree of the image
  fs::path image_dir;                       // absolute
  std::optional<fs::path> work_dir;         // absolute; default: the image directory
  std::optional<fs::path> pid_file;         // written with the restored root's host pid
  bool detach = false;                      // containers: the runtime returns once it runs
  CriuOptions criu;                         // or-ed with the flags the checkpoint used
  CudaOptions cuda;
  AmdOptions amd;                           // --amd-skip-check, --amd-max-buffer
  std::optional<std::string> device_map;    // --device-map OLD=NEW[,...]
  // Freeze the restored tree's cgroup (pause the container) again when it was frozen (paused)
  // at checkpoint, after the GPU restore. Off by default: a restored tree runs.
  bool restore_frozen = false;
  std::chrono::milliseconds pid_wait{10000};    // trees: how long dumped pids may stay in use
  std::chrono::milliseconds lock_wait{60000};
  std::optional<std::chrono::seconds> criu_deadline;  // default: core/criu_deadline.hpp
  std::chrono::milliseconds start_wait{300000}; // containers in the foreground: how long the
                                                // runtime's restore may take
  mm::ThpWindow thp_window = mm::ThpWindow::off;  // --thp-window[=force] (core/thp_staging.hpp)
  // --import: the images come from one archive, extracted into image_dir, or, when it is empty,
  // into a private directory removed after a successful restore.
  std::optional<ArchiveIn> archive;
};

}  // namespace gpucr
