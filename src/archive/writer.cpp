#include "archive/writer.hpp"

#include "util/fd.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <mutex>
#include <optional>
#include <thread>
#include <unistd.h>
#include <vector>

namespace gpucr::archive {

namespace {

constexpr size_t kBlock = 1 << 20;           // read and write unit

struct Sink {
  int fd;
  std::uint64_t bytes = 0;
};

la_ssize_t write_cb(struct ::archive* a, void* data, const void* buf, size_t len) {
  auto* s = static_cast<Sink*>(data);
  for (;;) {
    ssize_t n = ::write(s->fd, buf, len);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      archive_set_error(a, errno, "write failed");
      return -1;
    }
    s->bytes += static_cast<std::uint64_t>(n);
    return n;
  }
}

// SIGPIPE ignored while the archive is written; the disposition before is put back.
class IgnoreSigpipe {
 public:
  IgnoreSigpipe() {
    struct sigaction ign {};
    ign.sa_handler = SIG_IGN;
    sigemptyset(&ign.sa_mask);
    ::sigaction(SIGPIPE, &ign, &old_);
  }
  ~IgnoreSigpipe() { ::sigaction(SIGPIPE, &old_, nullptr); }

 private:
  struct sigaction old_ {};
};

class Archive {
 public:
  Archive() : a_(archive_write_new()) {}
  ~Archive() {
    if (a_) archive_write_free(a_);
  }
  struct ::archive* get() const { return a_; }
  Error error(const std::string& what, const std::string& doing) const {
    const char* s = archive_error_string(a_);
    int err = archive_errno(a_);
    std::string why = s ? s : "unknown libarchive error";
    if (err > 0 && why == "write failed") why = sys_error("write failed", err).what;
    return Error(what + ": " + doing + ": " + why);
  }

 private:
  struct ::archive* a_;
};

Status setup(Archive& a, const WriteOptions& o, const std::string& what) {
  struct ::archive* w = a.get();
  if (!w) return fail(Error("out of memory writing " + what));
  int r = ARCHIVE_OK;
  switch (o.compression) {
    case Compression::zstd: r = archive_write_add_filter_zstd(w); break;
    case Compression::gzip: r = archive_write_add_filter_gzip(w); break;
    case Compression::none: break;
  }
  // ARCHIVE_WARN: libarchive would fork an external compressor. gpucr wants the library.
  if (r != ARCHIVE_OK) {
    return fail(a.error(what, "setting up " + to_string(o.compression) + " compression").with_exit(Exit::missing_dependency));
  }
  if (o.compression == Compression::zstd && o.threads > 1) {
    std::string n = std::to_string(o.threads);
    if (archive_write_set_filter_option(w, "zstd", "threads", n.c_str()) != ARCHIVE_OK) {
      return fail(a.error(what, "setting zstd threads"));
    }
  }
  if (archive_write_set_format_pax_restricted(w) != ARCHIVE_OK ||
      archive_write_set_bytes_per_block(w, static_cast<int>(kBlock)) != ARCHIVE_OK ||
      archive_write_set_bytes_in_last_block(w, 1) != ARCHIVE_OK) {  // no padding after the end
    return fail(a.error(what, "setting up the tar format"));
  }
  return {};
}

Status header(Archive& a, const std::string& what, const IndexEntry& e) {
  struct archive_entry* h = archive_entry_new();
  if (!h) return fail(Error("out of memory writing " + what));
  archive_entry_set_pathname(h, e.name.c_str());
  archive_entry_set_filetype(h, e.kind == Kind::dir ? AE_IFDIR : AE_IFREG);
  archive_entry_set_perm(h, e.kind == Kind::dir ? 0700 : 0600);
  archive_entry_set_size(h, static_cast<la_int64_t>(e.size));
  archive_entry_set_mtime(h, std::chrono::system_clock::to_time_t(std::chrono::system_clock::now()), 0);
  int r = archive_write_header(a.get(), h);
  archive_entry_free(h);
  if (r != ARCHIVE_OK) return fail(a.error(what, "writing the header of " + e.name));
  return {};
}

Status data(Archive& a, const std::string& what, const std::string& name, const char* p, size_t n) {
  while (n > 0) {
    la_ssize_t w = archive_write_data(a.get(), p, n);
    if (w <= 0) return fail(a.error(what, "writing " + name));
    p += w;
    n -= static_cast<size_t>(w);
  }
  return {};
}

Status interrupted(const std::string& what) {
  return fail(Error(what + ": interrupted (SIGINT, SIGTERM or SIGHUP): the archive is incomplete"));
}

Status copy_file(Archive& a, const std::string& what, const IndexEntry& e, const fs::path& path,
                 std::atomic<std::uint64_t>* done, const std::function<bool()>& cancelled) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd) return fail(sys_error("cannot open " + path.string(), errno));
  ::posix_fadvise(fd.get(), 0, 0, POSIX_FADV_SEQUENTIAL);
  std::vector<char> buf(kBlock);
  std::uint64_t total = 0;
  std::uint32_t crc = crc32_of(0, nullptr, 0);
  for (;;) {
    ssize_t n = ::read(fd.get(), buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail(sys_error("cannot read " + path.string(), errno));
    if (n == 0) break;
    if (cancelled && cancelled()) return interrupted(what);
    if (total + static_cast<std::uint64_t>(n) > e.size) break;  // grew: reported below
    crc = crc32_of(crc, buf.data(), static_cast<size_t>(n));
    GPUCR_TRY(data(a, what, e.name, buf.data(), static_cast<size_t>(n)));
    total += static_cast<std::uint64_t>(n);
    if (done) *done += static_cast<std::uint64_t>(n);
  }
  if (total != e.size || crc != e.crc) {
    return fail(Error(path.string() + " changed while it was archived (" + std::to_string(e.size) + " bytes, CRC " +
                      crc_hex(e.crc) + " planned; now different)")
                    .with_hint("nothing may write to the image directory while gpucr archives it"));
  }
  return {};
}

}  // namespace

void ArchivePlan::add_dir(const std::string& name) {
  index_.entries.push_back({name, Kind::dir, 0, 0});
  paths_.emplace_back();
  bytes_.emplace_back();
}

void ArchivePlan::add_bytes(const std::string& name, std::string data) {
  index_.entries.push_back({name, Kind::file, data.size(), crc32_of(0, data.data(), data.size())});
  paths_.emplace_back();
  bytes_.push_back(std::move(data));
}

Status ArchivePlan::add_file(const std::string& name, const fs::path& path) {
  if (!valid_member_name(name, Kind::file)) {
    return fail(Error("can't archive " + path.string() + ": '" + name + "' is not a name a gpucr archive may hold",
                      Exit::bad_input));
  }
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return fail(sys_error("cannot stat " + path.string(), errno));
  if (!S_ISREG(st.st_mode)) {
    return fail(Error("can't archive " + path.string() + ": not a regular file", Exit::bad_input)
                    .with_hint("an image directory holds only regular files; remove anything else from it"));
  }
  index_.entries.push_back({name, Kind::file, static_cast<std::uint64_t>(st.st_size), 0});
  paths_.push_back(path);
  bytes_.emplace_back();
  return {};
}

Status ArchivePlan::plan_crcs(int threads, std::uint64_t chunk) {
  struct Chunk {
    size_t entry;
    std::uint64_t offset, len;
    std::uint32_t crc = 0;
  };
  std::vector<Chunk> chunks;
  std::vector<UniqueFd> fds(paths_.size());
  for (size_t i = 0; i < paths_.size(); ++i) {
    if (paths_[i].empty()) continue;
    fds[i] = UniqueFd(::open(paths_[i].c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (!fds[i]) return fail(sys_error("cannot open " + paths_[i].string(), errno));
    std::uint64_t size = index_.entries[i].size;
    for (std::uint64_t off = 0; off < size || (off == 0 && size == 0); off += chunk) {
      chunks.push_back({i, off, std::min(chunk, size - off)});
      if (size == 0) break;
    }
  }
  std::atomic<size_t> next{0};
  std::mutex mu;
  std::optional<Error> failure;
  auto worker = [&] {
    std::vector<char> buf(kBlock);
    for (size_t c; (c = next++) < chunks.size();) {
      Chunk& ch = chunks[c];
      std::uint32_t crc = crc32_of(0, nullptr, 0);
      for (std::uint64_t got = 0; got < ch.len;) {
        size_t want = static_cast<size_t>(std::min<std::uint64_t>(buf.size(), ch.len - got));
        ssize_t n = ::pread(fds[ch.entry].get(), buf.data(), want, static_cast<off_t>(ch.offset + got));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
          std::lock_guard l(mu);
          if (!failure) failure = n < 0 ? sys_error("cannot read " + paths_[ch.entry].string(), errno)
                                        : Error(paths_[ch.entry].string() + " shrank while it was read");
          return;
        }
        crc = crc32_of(crc, buf.data(), static_cast<size_t>(n));
        got += static_cast<std::uint64_t>(n);
      }
      ch.crc = crc;
    }
  };
  size_t n = std::clamp<size_t>(static_cast<size_t>(std::max(threads, 1)), 1, std::max<size_t>(chunks.size(), 1));
  std::vector<std::thread> pool;
  for (size_t i = 1; i < n; ++i) pool.emplace_back(worker);
  worker();
  for (auto& t : pool) t.join();
  if (failure) return fail(std::move(*failure));
  for (const auto& ch : chunks) {  // chunks of an entry are consecutive, in order
    auto& e = index_.entries[ch.entry];
    e.crc = ch.offset == 0 ? ch.crc
                           : static_cast<std::uint32_t>(::crc32_combine64(e.crc, ch.crc, static_cast<off64_t>(ch.len)));
  }
  return {};
}

Result<WriteResult> write_archive(int fd, const WriteOptions& o, const ArchivePlan& plan, const std::string& what,
                                  std::atomic<std::uint64_t>* done) {
  IgnoreSigpipe sigpipe;
  Archive a;
  GPUCR_TRY(setup(a, o, what));
  Sink sink{fd};
  if (archive_write_open2(a.get(), &sink, nullptr, write_cb, nullptr, nullptr) != ARCHIVE_OK) {
    return fail(a.error(what, "opening"));
  }
  WriteResult r;
  std::string index = encode_index(plan.index());
  GPUCR_TRY(header(a, what, {kIndexName, Kind::file, index.size(), 0}));
  GPUCR_TRY(data(a, what, kIndexName, index.data(), index.size()));
  r.bytes_in += index.size();
  const auto& entries = plan.index().entries;
  for (size_t i = 0; i < entries.size(); ++i) {
    const auto& e = entries[i];
    GPUCR_TRY(header(a, what, e));
    if (e.kind == Kind::dir) continue;
    if (!plan.path_of(i).empty()) {
      GPUCR_TRY(copy_file(a, what, e, plan.path_of(i), done, o.cancelled));
    } else {
      const auto& b = plan.bytes_of(i);
      GPUCR_TRY(data(a, what, e.name, b.data(), b.size()));
      if (done) *done += b.size();
    }
    r.bytes_in += e.size;
  }
  // Ends the archive and flushes the compressor: only now is the archive whole.
  if (archive_write_close(a.get()) != ARCHIVE_OK) return fail(a.error(what, "finishing the archive"));
  r.bytes_out = sink.bytes;
  return r;
}

}  // namespace gpucr::archive
