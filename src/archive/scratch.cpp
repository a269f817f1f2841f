#include "archive/scratch.hpp"
#include "util/file.hpp"

#include <sys/statvfs.h>

#include <cerrno>
#include <cstdlib>
#include <utility>

namespace gpucr::archive {

Result<ScratchDir> ScratchDir::create(const fs::path& parent, const std::string& purpose) {
  std::string tmpl = (parent / ("gpucr-" + purpose + "-XXXXXX")).string();
  if (::mkdtemp(tmpl.data()) == nullptr) {
    return fail(sys_error("cannot create a private directory in " + parent.string(), errno)
                    .with_hint("pass --image-dir DIR, or point $TMPDIR at a file system with room"));
  }
  ScratchDir d;
  d.path_ = tmpl;
  return d;
}

ScratchDir::ScratchDir(ScratchDir&& o) noexcept : path_(std::exchange(o.path_, {})), kept_(o.kept_) {}

ScratchDir& ScratchDir::operator=(ScratchDir&& o) noexcept {
  if (this != &o) {
    if (!kept_) (void)remove();
    path_ = std::exchange(o.path_, {});
    kept_ = o.kept_;
  }
  return *this;
}

ScratchDir::~ScratchDir() {
  if (!kept_) (void)remove();
}

Status ScratchDir::remove() {
  if (path_.empty()) return {};
  GPUCR_TRY(remove_tree(path_));
  path_.clear();
  return {};
}

Result<std::uint64_t> free_bytes(const fs::path& dir) {
  struct statvfs st {};
  if (::statvfs(dir.c_str(), &st) != 0) return fail(sys_error("cannot statvfs " + dir.string(), errno));
  return static_cast<std::uint64_t>(st.f_bavail) * st.f_frsize;
}

}  // namespace gpucr::archive
