#include "common/run_dir.hpp"

#include <fcntl.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdio>

namespace gpucr {

Result<std::filesystem::path> RunDir::path_from(const char* env) {
  if (!env || !*env) return std::filesystem::path("/run/gpucr");
  std::filesystem::path p(env);
  if (!p.is_absolute()) {
    return fail(Error("GPUCR_RUN_DIR must be an absolute path, not '" + p.string() + "'", Exit::usage)
                    .with_hint("set it to an absolute directory gpucr may create, or unset it (default /run/gpucr)"));
  }
  return p.lexically_normal();
}

Status RunDir::check_existing(const std::filesystem::path& dir) const {
  struct stat st {};
  if (::lstat(dir.c_str(), &st) != 0) {
    if (errno == ENOENT) return {};
    return fail(sys_error("cannot examine gpucr's run directory " + dir.string(), errno));
  }
  auto refuse = [&](const std::string& why) {
    return fail(Error("gpucr's run directory " + dir.string() + " " + why + ": refusing to use it", Exit::not_permitted)
                    .with_hint("remove it, or set GPUCR_RUN_DIR to a directory gpucr creates itself (mode 0700)"));
  };
  if (S_ISLNK(st.st_mode)) return refuse("is a symbolic link");
  if (!S_ISDIR(st.st_mode)) return refuse("is not a directory");
  if (st.st_uid != owner_) {
    return refuse("belongs to uid " + std::to_string(st.st_uid) + ", not to gpucr's user (uid " +
                  std::to_string(owner_) + ")");
  }
  if (st.st_mode & 077) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", st.st_mode & 07777);
    return refuse(std::string("is open to other users (mode ") + mode + ")");
  }
  return {};
}

Status RunDir::ensure(const std::string& sub) const {
  std::filesystem::path dirs[2] = {root_, sub.empty() ? std::filesystem::path() : root_ / sub};
  for (const auto& d : dirs) {
    if (d.empty()) continue;
    if (d == root_) {
      std::error_code ec;
      std::filesystem::create_directories(d.parent_path(), ec);
    }
    if (::mkdir(d.c_str(), 0700) != 0 && errno != EEXIST) {
      return fail(sys_error("cannot create gpucr's run directory " + d.string(), errno));
    }
    GPUCR_TRY(check_existing(d));
  }
  return {};
}

}  // namespace gpucr
