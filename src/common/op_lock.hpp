// A lock that keeps two gpucr operations on one thing (a container, a process tree) from
// interleaving: a file in the run directory, held with flock(LOCK_EX) by the operation's gpucr
// process for as long as it runs (the kernel drops it when that process dies).
//
// The holder writes one line "pid=PID start=TICKS op=OPERATION\n" into the file so a waiter can
// name it. A lock file may be removed only by its holder (remove_file, when the thing is gone);
// an acquirer therefore checks after flock that the path still names the file it locked, and
// retries if not. Files are opened with O_NOFOLLOW, mode 0600.
#pragma once

#include "util/fd.hpp"
#include "util/result.hpp"

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>

namespace gpucr {

class OpLock {
 public:
  OpLock() = default;
  OpLock(OpLock&&) = default;
  OpLock& operator=(OpLock&&) = default;
  ~OpLock() = default;  // closing the fd releases the lock

  // Waits up to `wait` for the lock at `path` (0: one try). `what` names the locked thing in
  // messages ("container c1", "the process tree of pid 42"). Fails naming the holder, or when a
  // cancellation signal arrives while waiting.
  static Result<OpLock> acquire(const std::filesystem::path& path, const std::string& what,
                                const std::string& operation, std::chrono::milliseconds wait);
  // nullopt when another process holds it.
  static Result<std::optional<OpLock>> try_acquire(const std::filesystem::path& path, const std::string& operation);
  // The holder line when a process holds the lock at `path` right now; nullopt when nobody does
  // (the file is never created here).
  static std::optional<std::string> holder(const std::filesystem::path& path);

  bool held() const { return static_cast<bool>(fd_); }
  // Unlinks the lock file (while still holding it) and releases the lock.
  void remove_file();
  void release() { fd_.reset(); }

 private:
  OpLock(UniqueFd fd, std::filesystem::path path) : fd_(std::move(fd)), path_(std::move(path)) {}
  UniqueFd fd_;
  std::filesystem::path path_;
};

}  // namespace gpucr
