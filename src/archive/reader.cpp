#include "archive/reader.hpp"

#include <archive.h>
#include <archive_entry.h>

#include <utility>

namespace gpucr::archive {

std::string Member::describe() const {
  std::string n = "'" + name + "'";
  if (!hardlink.empty()) return "hard link " + n + " -> '" + hardlink + "'";
  switch (filetype) {
    case AE_IFREG: return "file " + n;
    case AE_IFDIR: return "directory " + n;
    case AE_IFLNK: return "symbolic link " + n + " -> '" + symlink + "'";
    case AE_IFCHR: return "character device " + n;
    case AE_IFBLK: return "block device " + n;
    case AE_IFIFO: return "fifo " + n;
    case AE_IFSOCK: return "socket " + n;
  }
  return "member " + n + " of unknown type";
}

Result<Reader> Reader::open(int fd, std::string what) {
  Reader r;
  r.what_ = std::move(what);
  r.a_ = archive_read_new();
  if (!r.a_) return fail(Error("out of memory opening " + r.what_));
  // ARCHIVE_WARN from a filter means "through an external program": refused.
  if (archive_read_support_format_tar(r.a_) != ARCHIVE_OK ||
      archive_read_support_filter_none(r.a_) != ARCHIVE_OK ||
      archive_read_support_filter_gzip(r.a_) != ARCHIVE_OK ||
      archive_read_support_filter_zstd(r.a_) != ARCHIVE_OK) {
    return fail(r.error("setting up the reader (libarchive without built-in gzip/zstd?)").with_exit(Exit::missing_dependency));
  }
  if (archive_read_open_fd(r.a_, fd, 1 << 20) != ARCHIVE_OK) return fail(r.error("opening"));
  return r;
}

Reader::Reader(Reader&& o) noexcept : a_(std::exchange(o.a_, nullptr)), what_(std::move(o.what_)) {}

Reader& Reader::operator=(Reader&& o) noexcept {
  if (this != &o) {
    if (a_) archive_read_free(a_);
    a_ = std::exchange(o.a_, nullptr);
    what_ = std::move(o.what_);
  }
  return *this;
}

Reader::~Reader() {
  if (a_) archive_read_free(a_);
}

Error Reader::error(const std::string& doing) const {
  const char* s = a_ ? archive_error_string(a_) : nullptr;
  return Error(what_ + ": " + doing + ": " + (s ? s : "unknown libarchive error"), Exit::bad_input)
      .with_hint("the archive is damaged, truncated or not a gpucr checkpoint archive; nothing was kept from it");
}

Result<std::optional<Member>> Reader::next() {
  struct archive_entry* e = nullptr;
  int r = archive_read_next_header(a_, &e);
  if (r == ARCHIVE_EOF) return std::optional<Member>();
  if (r != ARCHIVE_OK) return fail(error("reading the next member's header"));  // WARN too: strict
  Member m;
  const char* name = archive_entry_pathname(e);
  m.name = name ? name : "";
  m.filetype = archive_entry_filetype(e);
  m.size_set = archive_entry_size_is_set(e) != 0;
  la_int64_t size = archive_entry_size(e);
  m.size = size > 0 ? static_cast<std::uint64_t>(size) : 0;
  m.mode_bits = archive_entry_mode(e) & 07777;
  if (const char* h = archive_entry_hardlink(e)) m.hardlink = h;
  if (const char* s = archive_entry_symlink(e)) m.symlink = s;
  m.sparse = archive_entry_sparse_count(e) > 0;
  return std::optional<Member>(std::move(m));
}

Status Reader::read_data(const Member& m, const std::function<Status(std::string_view)>& sink) {
  std::uint64_t done = 0;
  for (;;) {
    const void* buf = nullptr;
    size_t len = 0;
    la_int64_t offset = 0;
    int r = archive_read_data_block(a_, &buf, &len, &offset);
    if (r == ARCHIVE_EOF) break;
    if (r != ARCHIVE_OK) return fail(error("reading '" + m.name + "' after " + std::to_string(done) + " bytes"));
    if (offset < 0 || static_cast<std::uint64_t>(offset) != done) {
      return fail(Error(what_ + ": '" + m.name + "' has a hole at byte " + std::to_string(done) +
                            " (sparse data is never written by gpucr)",
                        Exit::bad_input));
    }
    if (len > m.size - done) {
      return fail(Error(what_ + ": '" + m.name + "' holds more than the " + std::to_string(m.size) +
                            " bytes its header says",
                        Exit::bad_input));
    }
    GPUCR_TRY(sink(std::string_view(static_cast<const char*>(buf), len)));
    done += len;
  }
  if (done != m.size) {
    return fail(Error(what_ + ": '" + m.name + "' ends after " + std::to_string(done) + " of " +
                          std::to_string(m.size) + " bytes (truncated archive)",
                      Exit::bad_input));
  }
  return {};
}

std::string Reader::compression() const {
  int n = archive_filter_count(a_);
  for (int i = 0; i < n; ++i) {
    int code = archive_filter_code(a_, i);
    if (code == ARCHIVE_FILTER_ZSTD) return "zstd";
    if (code == ARCHIVE_FILTER_GZIP) return "gzip";
  }
  return "none";
}

}  // namespace gpucr::archive
