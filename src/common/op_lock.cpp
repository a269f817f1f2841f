#include "common/op_lock.hpp"

#include "util/file.hpp"
#include "util/signals.hpp"
#include "util/strings.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <thread>

namespace gpucr {

namespace {

// One try: opens (creating) the lock file and flocks it without waiting. nullopt: busy.
Result<std::optional<UniqueFd>> attempt(const std::filesystem::path& path) {
  for (int tries = 0; tries < 100; ++tries) {
    UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
    if (!fd) return fail(sys_error("cannot open lock file " + path.string(), errno));
    if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
      if (errno == EINTR) continue;
      if (errno == EWOULDBLOCK) return std::optional<UniqueFd>();
      return fail(sys_error("cannot lock " + path.string(), errno));
    }
    struct stat held {}, named {};
    if (::fstat(fd.get(), &held) == 0 && ::stat(path.c_str(), &named) == 0 && held.st_dev == named.st_dev &&
        held.st_ino == named.st_ino) {
      return std::optional<UniqueFd>(std::move(fd));
    }
    // The previous holder removed the file after we opened it: lock the current one instead.
  }
  return fail(Error("cannot lock " + path.string() + ": it keeps being replaced", Exit::internal));
}

// This process's start time (clock ticks after boot, /proc/self/stat field 22): with the pid it
// names the holder unambiguously.
std::uint64_t self_start_time() {
  auto stat = read_file("/proc/self/stat").value_or("");
  auto fields = split_ws(std::string_view(stat).substr(std::min(stat.size(), stat.rfind(')') + 1)));
  return fields.size() > 19 ? std::strtoull(fields[19].c_str(), nullptr, 10) : 0;
}

void write_holder(int fd, const std::string& operation) {
  std::uint64_t start = self_start_time();
  std::string line = "pid=" + std::to_string(::getpid()) + " start=" + std::to_string(start) + " op=" + operation + "\n";
  if (::ftruncate(fd, 0) == 0) {
    ssize_t ignored = ::pwrite(fd, line.data(), line.size(), 0);
    (void)ignored;
  }
}

Error busy(const std::filesystem::path& path, const std::string& what, std::chrono::milliseconds waited) {
  std::string holder(trim(read_file(path).value_or("")));
  return Error(what + " is busy: another gpucr operation holds its lock" +
                   (holder.empty() ? std::string() : " (" + holder + ")") + " after waiting " + format_duration(waited),
               Exit::failed)
      .with_hint("wait for that operation to finish and try again (--lock-wait SECONDS waits longer); lock file: " +
                 path.string());
}

}  // namespace

Result<OpLock> OpLock::acquire(const std::filesystem::path& path, const std::string& what,
                               const std::string& operation, std::chrono::milliseconds wait) {
  auto deadline = std::chrono::steady_clock::now() + wait;
  for (;;) {
    auto fd = GPUCR_TRY(attempt(path));
    if (fd) {
      write_holder(fd->get(), operation);
      return OpLock(std::move(*fd), path);
    }
    if (signals::cancel_requested()) return fail(Error("interrupted while waiting for the lock of " + what));
    if (std::chrono::steady_clock::now() >= deadline) return fail(busy(path, what, wait));
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

Result<std::optional<OpLock>> OpLock::try_acquire(const std::filesystem::path& path, const std::string& operation) {
  auto fd = GPUCR_TRY(attempt(path));
  if (!fd) return std::optional<OpLock>();
  write_holder(fd->get(), operation);
  return std::optional<OpLock>(OpLock(std::move(*fd), path));
}

std::optional<std::string> OpLock::holder(const std::filesystem::path& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd) return std::nullopt;
  if (::flock(fd.get(), LOCK_SH | LOCK_NB) == 0 || errno != EWOULDBLOCK) return std::nullopt;
  return std::string(trim(read_file(path).value_or("")));
}

void OpLock::remove_file() {
  if (fd_) ::unlink(path_.c_str());
  fd_.reset();
}

}  // namespace gpucr
