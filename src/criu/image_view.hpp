// ImageView: the image directory as criu should see it, without changing the user's files.
//
// Stock criu >= 4.1 refuses an image whose inventory lists a plugin it has not loaded
// ("Missing required plugin: cuda_plugin"). When gpucr handles such state itself, criu restores
// from a view:
//
//   IMAGE_DIR/.gpucr-view-<gpucr pid>-<random>/   mode 0700
//     every regular file of IMAGE_DIR  -> a HARD LINK to it (same inode, no copy)
//     every symlink of IMAGE_DIR       -> the same symlink (relative targets get one more "../")
//     inventory.img                    -> a new file: the given inventory (e.g. without cuda_plugin)
//
// Hard links in a subdirectory, not symlinks: criu opens some images from inside a restored
// container's mount namespace, where absolute symlinks into IMAGE_DIR do not resolve (docs/FACTS.md
// §3). criu only reads images on restore, so the linked files stay byte-identical. The view is
// removed afterwards (remove(), or the destructor), also on failure; views left by a gpucr that
// died are removed by the next create() in the same directory.
#pragma once

#include "criu/inventory.hpp"

namespace gpucr::criu {

inline constexpr const char* kViewPrefix = ".gpucr-view-";

class ImageView {
 public:
  // Fails (bad_input) when the directory is not writable or its file system can't hard-link,
  // saying what to do; nothing is left behind then.
  static Result<ImageView> create(const fs::path& image_dir, const Inventory& inventory);

  ImageView() = default;
  ImageView(ImageView&& o) noexcept : dir_(std::exchange(o.dir_, fs::path())) {}
  ImageView& operator=(ImageView&& o) noexcept;
  ImageView(const ImageView&) = delete;
  ImageView& operator=(const ImageView&) = delete;
  ~ImageView();  // removes the view if remove() was not called

  const fs::path& dir() const { return dir_; }  // pass as criu's --images-dir
  // Removes the view (links, the rewritten inventory, the directory). Idempotent.
  Status remove();

 private:
  explicit ImageView(fs::path dir) : dir_(std::move(dir)) {}
  fs::path dir_;
};

// Removes views whose gpucr process no longer runs; returns their names.
std::vector<std::string> remove_stale_views(const fs::path& image_dir);

}  // namespace gpucr::criu
