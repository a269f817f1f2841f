#include "cli/archive_options.hpp"

#include "cli/compose.hpp"
#include "cli/paths.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

namespace gpucr::cli {

namespace {

Result<std::string> absolute_file(const std::string& file, const char* option) {
  std::optional<fs::path> p = fs::path(file);
  GPUCR_TRY(absolute_path(p, option));
  return p->string();
}

// A private copy of `fd` for the archive (close-on-exec), and `fd` itself re-pointed at `to`.
Result<int> take_over(int fd, int to, const char* name) {
  int copy = ::fcntl(fd, F_DUPFD_CLOEXEC, 3);
  if (copy < 0) return fail(sys_error(std::string("cannot use ") + name + " for the archive", errno).with_exit(Exit::usage));
  if (to >= 0 && ::dup2(to, fd) < 0) return fail(sys_error(std::string("cannot redirect ") + name, errno));
  return copy;
}

}  // namespace

Result<ArchiveOut> archive_out(const std::string& file, const std::string& compress) {
  ArchiveOut a;
  a.compression = GPUCR_TRY(archive::parse_compression(compress));
  a.scratch_parent = scratch_parent();
  if (file == "-") {
    a.file = "-";
    a.fd = GPUCR_TRY(take_over(STDOUT_FILENO, STDERR_FILENO, "stdout"));
  } else {
    a.file = GPUCR_TRY(absolute_file(file, "--export"));
  }
  return a;
}

Result<ArchiveIn> archive_in(const std::string& file) {
  ArchiveIn a;
  a.scratch_parent = scratch_parent();
  if (file == "-") {
    a.file = "-";
    int null = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (null < 0) return fail(sys_error("cannot open /dev/null", errno));
    auto fd = take_over(STDIN_FILENO, null, "stdin");
    ::close(null);
    a.fd = GPUCR_TRY(std::move(fd));
  } else {
    a.file = GPUCR_TRY(absolute_file(file, "--import"));
  }
  return a;
}

}  // namespace gpucr::cli
