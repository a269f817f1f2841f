#include "util/file.hpp"

#include "util/fd.hpp"

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <limits>
#include <random>

namespace gpucr {

// Reads fd to its end; more than `max_bytes` is an error (the file grew after it was checked).
static Result<std::string> read_all(int fd, const fs::path& path, std::uint64_t max_bytes) {
  std::string out;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail(sys_error("cannot read " + path.string(), errno));
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
    if (out.size() > max_bytes) return fail(Error(path.string() + " grew while it was read", Exit::bad_input));
  }
  return out;
}

Result<std::string> read_file(const fs::path& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return fail(sys_error("cannot open " + path.string(), errno));
  return read_all(fd.get(), path, std::numeric_limits<std::uint64_t>::max());
}

Result<std::string> read_untrusted(const fs::path& path, const ReadLimits& limits) {
  // O_NONBLOCK: opening a FIFO must not wait for a writer; regular files ignore it.
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY));
  if (!fd) {
    if (errno == ELOOP) return fail(Error(path.string() + " is a symbolic link: refusing to follow it", Exit::bad_input));
    return fail(sys_error("cannot open " + path.string(), errno));
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return fail(sys_error("cannot examine " + path.string(), errno));
  if (!S_ISREG(st.st_mode)) {
    return fail(Error(path.string() + " is not a regular file (a FIFO, device, socket or directory): refusing to read it",
                      Exit::bad_input));
  }
  if (limits.owner && (st.st_uid != *limits.owner || (st.st_mode & 022))) {
    return fail(Error(path.string() + " belongs to uid " + std::to_string(st.st_uid) + " or is writable by others: "
                          "refusing to trust it",
                      Exit::not_permitted));
  }
  if (static_cast<std::uint64_t>(st.st_size) > limits.max_bytes) {
    return fail(Error(path.string() + " is " + std::to_string(st.st_size) + " bytes, more than the " +
                          std::to_string(limits.max_bytes) + " such a file may have",
                      Exit::bad_input));
  }
  return read_all(fd.get(), path, limits.max_bytes);
}

static Status write_all(int fd, std::string_view data, const fs::path& path) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail(sys_error("cannot write " + path.string(), errno));
    data.remove_prefix(static_cast<size_t>(n));
  }
  return {};
}

Status write_file_atomic(const fs::path& path, std::string_view data, mode_t mode) {
  std::random_device rd;
  fs::path tmp = path;
  tmp += ".tmp" + std::to_string(::getpid()) + "-" + std::to_string(rd() % 100000);
  UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode));
  if (!fd) return fail(sys_error("cannot create " + tmp.string(), errno));
  Defer cleanup([&] { ::unlink(tmp.c_str()); });
  GPUCR_TRY(write_all(fd.get(), data, tmp));
  if (::fchmod(fd.get(), mode) != 0) return fail(sys_error("cannot chmod " + tmp.string(), errno));
  GPUCR_TRY(commit_file(fd.get(), tmp, path));
  cleanup.dismiss();
  return {};
}

Status commit_file(int fd, const fs::path& tmp, const fs::path& path) {
  if (::fsync(fd) != 0) return fail(sys_error("cannot fsync " + tmp.string(), errno));
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    return fail(sys_error("cannot rename " + tmp.string() + " to " + path.string(), errno));
  }
  fs::path dir = path.parent_path().empty() ? fs::path(".") : path.parent_path();
  UniqueFd dfd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dfd) ::fsync(dfd.get());
  return {};
}

Status remove_tree(const fs::path& dir) {
  std::error_code ec;
  fs::remove_all(dir, ec);
  if (ec) return fail(sys_error("cannot remove " + dir.string(), ec.value()));
  return {};
}

Status make_private_dir(const fs::path& dir, bool must_be_empty) {
  std::error_code ec;
  bool created = fs::create_directories(dir, ec);
  if (ec) return fail(sys_error("cannot create directory " + dir.string(), ec.value()));
  struct stat st {};
  if (::lstat(dir.c_str(), &st) != 0) return fail(sys_error("cannot stat " + dir.string(), errno));
  if (!S_ISDIR(st.st_mode)) return fail(Error(dir.string() + " is not a directory", Exit::bad_input));
  if (must_be_empty) {
    auto names = GPUCR_TRY(list_dir(dir));
    if (!names.empty()) {
      return fail(Error("image directory " + dir.string() + " is not empty (" +
                            std::to_string(names.size()) + " entries, first: " + names.front() + ")",
                        Exit::bad_input)
                      .with_hint("choose a new or empty directory; gpucr never overwrites images"));
    }
  }
  // An existing directory that may hold other files (a work dir such as /tmp) keeps its mode.
  if ((created || must_be_empty) && ::chmod(dir.c_str(), 0700) != 0) {
    return fail(sys_error("cannot chmod 0700 " + dir.string(), errno));
  }
  return {};
}

Status check_new_dir(const fs::path& dir, const std::string& what) {
  struct stat st {};
  if (::lstat(dir.c_str(), &st) != 0) {
    if (errno == ENOENT) return {};
    return fail(sys_error("cannot examine " + what + " " + dir.string(), errno).with_exit(Exit::bad_input));
  }
  if (S_ISLNK(st.st_mode)) {
    std::error_code ec;
    fs::path target = fs::read_symlink(dir, ec);
    bool dangling = !fs::exists(dir, ec);
    return fail(Error(what + " " + dir.string() + " is a symbolic link to " + target.string() +
                          (dangling ? ", which does not exist" : ""),
                      Exit::bad_input)
                    .with_hint("give the directory itself (gpucr does not follow a link there)"));
  }
  if (!S_ISDIR(st.st_mode)) return fail(Error(what + " " + dir.string() + " exists and is not a directory", Exit::bad_input));
  auto names = GPUCR_TRY(list_dir(dir));
  if (!names.empty()) {
    return fail(Error(what + " " + dir.string() + " is not empty (" + std::to_string(names.size()) +
                          " entries, first: " + names.front() + ")",
                      Exit::bad_input)
                    .with_hint("choose a new or empty directory; gpucr never overwrites images"));
  }
  return {};
}

Result<std::vector<std::string>> list_dir(const fs::path& dir) {
  std::error_code ec;
  std::vector<std::string> names;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    names.push_back(it->path().filename().string());
  }
  if (ec) return fail(sys_error("cannot list " + dir.string(), ec.value()));
  std::sort(names.begin(), names.end());
  return names;
}

Result<std::uint64_t> dir_size(const fs::path& dir) {
  std::error_code ec;
  std::uint64_t total = 0;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    struct stat st {};
    if (::lstat(it->path().c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
      total += static_cast<std::uint64_t>(st.st_size);
    }
  }
  if (ec) return fail(sys_error("cannot list " + dir.string(), ec.value()));
  return total;
}

bool is_safe_name(std::string_view name) {
  if (name.empty() || name.size() > 128 || name == "." || name == ".." || name.front() == '-') {
    return false;
  }
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
  });
}

bool is_on_tmpfs(const fs::path& path) {
  struct statfs sf {};
  fs::path p = path;
  while (::statfs(p.c_str(), &sf) != 0) {
    if (!p.has_parent_path() || p == p.parent_path()) return false;
    p = p.parent_path();
  }
  return sf.f_type == TMPFS_MAGIC || sf.f_type == RAMFS_MAGIC;
}

}  // namespace gpucr
