#include "util/file.hpp"

#include "util/fd.hpp"

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <random>

namespace gpucr {

Result<std::string> read_file(const fs::path& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return fail(sys_error("cannot open " + path.string(), errno));
  std::string out;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail(sys_error("cannot read " + path.string(), errno));
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
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
  if (::fsync(fd.get()) != 0) return fail(sys_error("cannot fsync " + tmp.string(), errno));
  fd.reset();
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    return fail(sys_error("cannot rename " + tmp.string() + " to " + path.string(), errno));
  }
  cleanup.dismiss();
  fs::path dir = path.parent_path().empty() ? fs::path(".") : path.parent_path();
  UniqueFd dfd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dfd) ::fsync(dfd.get());
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
