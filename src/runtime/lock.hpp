// The per-container lock: two gpucr operations on one container (a checkpoint from the CLI and
// one from an engine through the wrapper, say) never interleave.
//
// RUN_DIR/containers/<id>.lock (paths.hpp), mode 0600, held with flock(LOCK_EX). The holder
// writes one line "pid=PID start=TICKS op=OPERATION\n" into it so a waiter can name it. A lock
// file may be removed only by its holder (remove_file, when the container is gone); an acquirer
// therefore checks after flock that the path still names the file it locked, and retries if not.
#pragma once

#include "common/run_dir.hpp"
#include "util/fd.hpp"
#include "util/result.hpp"

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>

namespace gpucr::runtime {

class ContainerLock {
 public:
  ContainerLock() = default;
  ContainerLock(ContainerLock&&) = default;
  ContainerLock& operator=(ContainerLock&&) = default;
  ~ContainerLock() = default;  // closing the fd releases the lock

  // Waits up to `wait` for the lock (0: one try). Fails naming the holder, or when a
  // cancellation signal arrives.
  static Result<ContainerLock> acquire(const RunDir& run, const std::string& id,
                                       const std::string& operation, std::chrono::milliseconds wait);
  // nullopt when another process holds it.
  static Result<std::optional<ContainerLock>> try_acquire(const RunDir& run, const std::string& id,
                                                          const std::string& operation);

  // The holder line ("pid=... start=... op=...") when a gpucr operation holds the lock of `id`
  // right now; nullopt when nobody does (the lock file is never created here).
  static std::optional<std::string> holder(const RunDir& run, const std::string& id);

  bool held() const { return static_cast<bool>(fd_); }
  // Unlinks the lock file (while still holding it) and releases the lock.
  void remove_file();
  void release() { fd_.reset(); }

 private:
  ContainerLock(UniqueFd fd, std::filesystem::path path) : fd_(std::move(fd)), path_(std::move(path)) {}
  UniqueFd fd_;
  std::filesystem::path path_;
};

}  // namespace gpucr::runtime
