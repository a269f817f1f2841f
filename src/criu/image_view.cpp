#include "criu/image_view.hpp"

#include "util/log.hpp"
#include "util/strings.hpp"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <random>

namespace gpucr::criu {

namespace {

std::string random_suffix() {
  std::random_device rd;
  char buf[16];
  std::snprintf(buf, sizeof buf, "%08x", static_cast<unsigned>(rd()));
  return buf;
}

Error cannot_link(const fs::path& src, const fs::path& view, int err) {
  return sys_error("cannot hard-link " + src.string() + " into the restore view " + view.string(), err)
      .with_exit(Exit::bad_input)
      .with_hint("gpucr restores this image through a view of hard links inside the image directory (criu must "
                 "not see the plugin names gpucr handles itself, and your files stay unchanged); copy the image "
                 "directory to a file system that supports hard links (ext4, xfs, btrfs, tmpfs) and restore "
                 "from the copy");
}

// Mirrors one entry of the image directory into the view; directories and others are skipped.
Status mirror(const fs::path& src, const fs::path& dst, const fs::path& view) {
  struct stat st {};
  if (::lstat(src.c_str(), &st) != 0) return fail(sys_error("cannot stat " + src.string(), errno));
  if (S_ISREG(st.st_mode)) {
    if (::link(src.c_str(), dst.c_str()) != 0) return fail(cannot_link(src, view, errno));
  } else if (S_ISLNK(st.st_mode)) {
    std::error_code ec;
    fs::path target = fs::read_symlink(src, ec);
    if (ec) return fail(sys_error("cannot read symlink " + src.string(), ec.value()));
    if (target.is_relative()) target = fs::path("..") / target;  // the view is one level down
    fs::create_symlink(target, dst, ec);
    if (ec) return fail(sys_error("cannot create symlink " + dst.string(), ec.value()));
  }
  return {};
}

}  // namespace

Result<ImageView> ImageView::create(const fs::path& image_dir, const Inventory& inventory) {
  for (const auto& name : remove_stale_views(image_dir)) log::info("removed a stale restore view: " + name);
  fs::path dir = image_dir / (std::string(kViewPrefix) + std::to_string(::getpid()) + "-" + random_suffix());
  if (::mkdir(dir.c_str(), 0700) != 0) {
    return fail(sys_error("cannot create the restore view " + dir.string(), errno)
                    .with_exit(Exit::bad_input)
                    .with_hint("gpucr restores this image through a view inside the image directory, which must "
                               "be writable; copy the image directory to a writable place and restore from there"));
  }
  ImageView view(dir);  // removed again by its destructor if anything below fails
  for (const auto& name : GPUCR_TRY(list_dir(image_dir))) {
    if (name == kInventoryFile || name.rfind(kViewPrefix, 0) == 0) continue;
    GPUCR_TRY(mirror(image_dir / name, dir / name, dir));
  }
  GPUCR_TRY(write_file_atomic(dir / kInventoryFile, serialize_inventory(inventory), 0600));
  log::debug("restore view " + dir.string() + " lists plugins: " + join(inventory.plugins(), ", "));
  return view;
}

ImageView& ImageView::operator=(ImageView&& o) noexcept {
  if (this != &o) {
    (void)remove();
    dir_ = std::exchange(o.dir_, fs::path());
  }
  return *this;
}

ImageView::~ImageView() {
  if (auto st = remove(); !st) log::warn(st.error().what);
}

Status ImageView::remove() {
  if (dir_.empty()) return {};
  std::error_code ec;
  fs::remove_all(dir_, ec);  // never follows symlinks; unlinking a hard link leaves the original
  if (ec) return fail(sys_error("cannot remove the restore view " + dir_.string(), ec.value()));
  dir_.clear();
  return {};
}

std::vector<std::string> remove_stale_views(const fs::path& image_dir) {
  std::vector<std::string> removed;
  auto names = list_dir(image_dir);
  if (!names) return removed;
  const std::string prefix = kViewPrefix;
  for (const auto& name : *names) {
    if (name.rfind(prefix, 0) != 0) continue;
    auto pid = parse_int(name.substr(prefix.size(), name.find('-', prefix.size()) - prefix.size()), "view pid");
    if (!pid || *pid <= 0 || *pid == ::getpid()) continue;
    if (::kill(static_cast<pid_t>(*pid), 0) == 0 || errno != ESRCH) continue;  // its gpucr still runs
    std::error_code ec;
    fs::remove_all(image_dir / name, ec);
    if (!ec) removed.push_back(name);
  }
  return removed;
}

}  // namespace gpucr::criu
