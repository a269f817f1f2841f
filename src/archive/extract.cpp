#include "archive/extract.hpp"

#include "util/fd.hpp"
#include "util/file.hpp"
#include "util/strings.hpp"

#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

namespace gpucr::archive {

namespace {

const char* kDamaged = "the archive is damaged, truncated or not a gpucr checkpoint archive; nothing was kept from it";

Error bad(const std::string& what, const std::string& why) {
  return Error(what + ": " + why, Exit::bad_input).with_hint(kDamaged);
}

std::string octal(unsigned mode) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04o", mode & 07777);
  return buf;
}

// Reads the member's data, feeding `sink` (optional), and checks it against the index entry.
Status verify_data(Reader& r, const Member& m, const IndexEntry& e, const std::function<Status(std::string_view)>& sink,
                   std::atomic<std::uint64_t>* done, const std::function<bool()>& cancelled = {}) {
  std::uint32_t crc = crc32_of(0, nullptr, 0);
  GPUCR_TRY(r.read_data(m, [&](std::string_view block) -> Status {
    if (cancelled && cancelled()) {
      return fail(Error(r.what() + ": interrupted (SIGINT, SIGTERM or SIGHUP) while reading '" + e.name +
                        "'; nothing was kept from it"));
    }
    crc = crc32_of(crc, block.data(), block.size());
    if (sink) GPUCR_TRY(sink(block));
    if (done) *done += block.size();
    return {};
  }));
  if (crc != e.crc) {
    return fail(bad(r.what(), "'" + e.name + "' is damaged: its data has CRC-32 " + crc_hex(crc) + ", the index says " +
                                  crc_hex(e.crc)));
  }
  return {};
}

Status write_all(int fd, std::string_view data, const fs::path& dir, const std::string& name) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail(sys_error("cannot write " + (dir / name).string(), errno));
    data.remove_prefix(static_cast<size_t>(n));
  }
  return {};
}

// The directory that receives the image files, and every file made in it, removed again unless
// the extraction completes.
class Target {
 public:
  ~Target() {
    if (done_) return;
    for (const auto& n : files_) ::unlinkat(fd_.get(), n.c_str(), 0);
    fd_.reset();
    if (created_) ::rmdir(dir_.c_str());
  }

  Status open(const fs::path& dir) {
    dir_ = dir;
    struct stat st {};
    if (::lstat(dir.c_str(), &st) != 0) {
      if (errno != ENOENT) return fail(sys_error("cannot stat " + dir.string(), errno));
      std::error_code ec;
      if (!dir.parent_path().empty()) fs::create_directories(dir.parent_path(), ec);
      if (::mkdir(dir.c_str(), 0700) != 0) return fail(sys_error("cannot create directory " + dir.string(), errno));
      created_ = true;
    } else if (!S_ISDIR(st.st_mode)) {
      return fail(Error(dir.string() + " is not a directory", Exit::bad_input));
    } else if (auto names = GPUCR_TRY(list_dir(dir)); !names.empty()) {
      return fail(Error("image directory " + dir.string() + " is not empty (first: " + names.front() + ")", Exit::bad_input)
                      .with_hint("choose a new or empty directory; gpucr never overwrites images"));
    }
    fd_ = UniqueFd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!fd_) return fail(sys_error("cannot open " + dir.string(), errno));
    return {};
  }

  Result<UniqueFd> create(const std::string& name) {
    // One safe component (index.hpp): no '/', no "..": nothing can land outside the directory.
    UniqueFd f(::openat(fd_.get(), name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!f) return fail(sys_error("cannot create " + (dir_ / name).string(), errno));
    files_.push_back(name);
    return f;
  }

  Result<std::uint64_t> free_bytes() const {
    struct statvfs st {};
    if (::fstatvfs(fd_.get(), &st) != 0) return fail(sys_error("cannot statvfs " + dir_.string(), errno));
    return static_cast<std::uint64_t>(st.f_bavail) * st.f_frsize;
  }

  const fs::path& dir() const { return dir_; }
  void keep() { done_ = true; }

 private:
  fs::path dir_;
  UniqueFd fd_;
  bool created_ = false;
  bool done_ = false;
  std::vector<std::string> files_;
};

// Bytes the files take on disk, counted in 4 KiB blocks.
std::uint64_t allocated(std::uint64_t size) { return (size + 4095) / 4096 * 4096; }

}  // namespace

Status check_member(const Member& m, const std::string& what, bool index) {
  auto refuse = [&](const std::string& why) {
    return fail(Error(what + ": refused " + m.describe() + ": " + why, Exit::bad_input)
                    .with_hint("a gpucr checkpoint archive holds only regular files and the directory checkpoint/; "
                               "this one was not written by gpucr or was tampered with. Nothing was kept from it"));
  };
  if (m.name.empty()) return refuse("it has no name");
  if (m.name.front() == '/') return refuse("absolute names are never extracted");
  for (const auto& part : split(m.name, '/')) {
    if (part == "..") return refuse("'..' would leave the extraction directory");
  }
  if (!m.hardlink.empty()) return refuse("links are never extracted");
  switch (m.filetype) {
    case AE_IFREG:
    case AE_IFDIR: break;
    case AE_IFLNK: return refuse("links are never extracted");
    case AE_IFCHR:
    case AE_IFBLK: return refuse("device nodes are never extracted");
    default: return refuse("only regular files and directories are extracted");
  }
  if (m.mode_bits & 07000) return refuse("mode " + octal(m.mode_bits) + " has setuid, setgid or sticky bits");
  if (m.sparse) return refuse("sparse members are never written by gpucr");
  if (m.filetype == AE_IFREG && !m.size_set) return refuse("it has no size");
  if (!index && !valid_member_name(m.name, m.filetype == AE_IFDIR ? Kind::dir : Kind::file)) {
    return refuse("only checkpoint/, checkpoint/NAME and NAME (letters, digits, '.', '_', '-') are extracted");
  }
  return {};
}

Result<Extractor> Extractor::open(int fd, std::string what, const std::string& head) {
  Extractor x(GPUCR_TRY(Reader::open(fd, std::move(what))));
  Reader& r = x.reader_;
  auto first = GPUCR_TRY(r.next());
  if (!first) return fail(bad(r.what(), "the archive holds no member"));
  x.head_.compression = r.compression();
  if (first->name != kIndexName) {
    return fail(Error(r.what() + " is not a gpucr checkpoint archive: its first member is '" + first->name.substr(0, 100) +
                          "', not " + kIndexName,
                      Exit::bad_input)
                    .with_hint("restore archives of podman or CRI-O with their engine (podman container restore --import)"));
  }
  GPUCR_TRY(check_member(*first, r.what(), /*index=*/true));
  if (first->filetype != AE_IFREG || first->size > kMaxIndexBytes) {
    return fail(bad(r.what(), std::string(kIndexName) + " is not a file of at most " + format_bytes(kMaxIndexBytes)));
  }
  std::string text;
  GPUCR_TRY(r.read_data(*first, [&](std::string_view b) -> Status {
    text.append(b);
    return {};
  }));
  x.head_.index = GPUCR_TRY(decode_index(text, r.what()));
  const auto& entries = x.head_.index.entries;
  if (!x.head_.index.find(head)) {
    return fail(bad(r.what(), "it is not a gpucr checkpoint: its index lists no " + head));
  }
  for (size_t i = 0; i < entries.size(); ++i) {
    const auto& e = entries[i];
    Member m = GPUCR_TRY(x.next_listed(i));
    if (e.kind == Kind::dir) continue;
    if (e.size > kMaxHeadMember) {
      return fail(bad(r.what(), "'" + e.name + "' (" + format_bytes(e.size) + ") comes before " + head +
                                    ", where only metadata of at most " + format_bytes(kMaxHeadMember) + " may be"));
    }
    std::string data;
    GPUCR_TRY(verify_data(r, m, e, [&](std::string_view b) -> Status {
      data.append(b);
      return {};
    }, nullptr));
    x.head_.members[e.name] = std::move(data);
    if (e.name == head) break;
  }
  return x;
}

Result<Member> Extractor::next_listed(size_t i) {
  const auto& entries = head_.index.entries;
  auto m = GPUCR_TRY(reader_.next());
  if (!m) {
    return fail(bad(reader_.what(), "it ends after " + std::to_string(i) + " of the " + std::to_string(entries.size()) +
                                        " members its index lists: '" + entries[i].name + "' and " +
                                        std::to_string(entries.size() - i - 1) + " more are missing (truncated)"));
  }
  if (m->filetype == AE_IFDIR && !m->name.empty() && m->name.back() != '/') m->name += '/';
  GPUCR_TRY(check_member(*m, reader_.what()));
  const auto& e = entries[i];
  if (m->name != e.name) {
    return fail(bad(reader_.what(), "member '" + m->name + "' is not the one its index lists next ('" + e.name + "')"));
  }
  if ((e.kind == Kind::dir) != (m->filetype == AE_IFDIR) || (e.kind == Kind::file && m->size != e.size)) {
    return fail(bad(reader_.what(), "'" + e.name + "' is " + std::to_string(m->size) + " bytes, its index says " +
                                        std::to_string(e.size)));
  }
  next_ = i + 1;
  return std::move(*m);
}

Result<ExtractResult> Extractor::extract(const ExtractOptions& o) {
  const std::string& what = reader_.what();
  const auto& entries = head_.index.entries;
  auto writes = [&](const IndexEntry& e) {
    std::string_view file = image_file_name(e.name);
    return e.kind == Kind::file && !file.empty() && (!o.write || o.write(file));
  };
  Target t;
  GPUCR_TRY(t.open(o.dir));
  std::uint64_t needed = 0;
  size_t files = 0;
  for (const auto& e : entries) {
    if (writes(e)) needed += allocated(e.size), ++files;
  }
  std::uint64_t room = GPUCR_TRY(t.free_bytes());
  if (needed > room) {
    return fail(Error(what + " would take " + format_bytes(needed) + " (" + std::to_string(needed) + " bytes, " +
                          std::to_string(files) + " files) uncompressed in " + o.dir.string() + ", which has " +
                          format_bytes(room) + " free: refused before writing anything",
                      Exit::not_permitted)
                    .with_hint("extract onto a file system with room (--image-dir DIR, or $TMPDIR); an archive that "
                               "claims far more than its size may be a decompression bomb"));
  }
  ExtractResult res;
  auto write_to = [&](const IndexEntry& e, const std::function<Status(const std::function<Status(std::string_view)>&)>& feed)
      -> Status {
    std::string name(image_file_name(e.name));
    UniqueFd f = GPUCR_TRY(t.create(name));
    GPUCR_TRY(feed([&](std::string_view b) { return write_all(f.get(), b, t.dir(), name); }));
    ++res.files_written;
    res.bytes_written += e.size;
    return {};
  };
  for (const auto& member : head_.members) {  // verified already
    const IndexEntry* e = head_.index.find(member.first);
    res.bytes_verified += e->size;
    if (writes(*e)) GPUCR_TRY(write_to(*e, [&](const auto& sink) { return sink(member.second); }));
  }
  for (size_t i = next_; i < entries.size(); ++i) {
    const auto& e = entries[i];
    Member m = GPUCR_TRY(next_listed(i));
    if (e.kind == Kind::dir) continue;
    if (writes(e)) {
      GPUCR_TRY(write_to(e, [&](const auto& sink) { return verify_data(reader_, m, e, sink, o.done, o.cancelled); }));
    } else {
      GPUCR_TRY(verify_data(reader_, m, e, nullptr, o.done, o.cancelled));
    }
    res.bytes_verified += e.size;
  }
  auto extra = GPUCR_TRY(reader_.next());
  if (extra) {
    GPUCR_TRY(check_member(*extra, what));  // a hostile one is named for what it is
    return fail(bad(what, "member '" + extra->name.substr(0, 100) + "' follows the last one its index lists"));
  }
  t.keep();
  return res;
}

}  // namespace gpucr::archive
