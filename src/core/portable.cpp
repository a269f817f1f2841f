#include "core/portable.hpp"

#include "archive/extract.hpp"
#include "archive/writer.hpp"
#include "core/destination.hpp"
#include "core/manifest.hpp"
#include "criu/inventory.hpp"
#include "util/fd.hpp"
#include "util/file.hpp"
#include "util/signals.hpp"
#include "util/strings.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <ctime>
#include <thread>

namespace gpucr {

namespace {

int cpu_threads() { return static_cast<int>(std::clamp(std::thread::hardware_concurrency(), 1u, 16u)); }

// Where an export's archive goes: "-" is the descriptor given; FILE is written as
// FILE.gpucr-XXXXXX beside it and renamed once complete, so FILE is whole or absent.
class Output {
 public:
  ~Output() {
    if (!tmp_.empty()) ::unlink(tmp_.c_str());
  }

  Status open(const ArchiveOut& a) {
    name_ = archive_name(a.file, /*written=*/true);
    if (a.file == "-") {
      if (a.fd < 0 || ::fcntl(a.fd, F_GETFL) < 0) return fail(Error("stdout is closed: nowhere to write the archive", Exit::usage));
      if (::isatty(a.fd)) {
        return fail(Error("refusing to write an archive to a terminal", Exit::usage)
                        .with_hint("redirect stdout (`--export - > FILE`, `--export - | ssh HOST gpucr restore --import -`)"));
      }
      fd_ = a.fd;
      return {};
    }
    file_ = a.file;
    struct stat st {};
    if (::lstat(file_.c_str(), &st) == 0) {
      return fail(Error(file_.string() + " exists: gpucr never overwrites an archive", Exit::bad_input)
                      .with_hint("remove it or choose another name"));
    }
    std::string tmpl = file_.string() + ".gpucr-XXXXXX";
    int fd = ::mkstemp(tmpl.data());
    if (fd < 0) return fail(sys_error("cannot create a file beside " + file_.string(), errno));
    ::fcntl(fd, F_SETFD, FD_CLOEXEC);
    owned_ = UniqueFd(fd);
    fd_ = fd;
    tmp_ = tmpl;
    return {};
  }

  int fd() const { return fd_; }
  const std::string& name() const { return name_; }

  // FILE appears, whole (fsynced, renamed, directory fsynced).
  Status commit() {
    if (tmp_.empty()) return {};
    GPUCR_TRY(commit_file(fd_, tmp_, file_));
    tmp_.clear();
    return {};
  }

 private:
  std::string name_;
  fs::path file_;
  fs::path tmp_;
  UniqueFd owned_;
  int fd_ = -1;
};

std::string rfc3339(std::int64_t unix_ms) {
  std::time_t s = static_cast<std::time_t>(unix_ms / 1000);
  std::tm tm {};
  ::gmtime_r(&s, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  char out[80];
  std::snprintf(out, sizeof out, "%s.%03dZ", buf, static_cast<int>(unix_ms % 1000));
  return out;
}

// checkpointctl's (and podman's) config.dump, with what gpucr knows of the container.
std::string config_dump(const pb::Manifest& m) {
  const auto& c = m.container();
  const char* zero = "0001-01-01T00:00:00Z";
  nlohmann::json j{{"id", c.id()},
                   {"name", c.id()},
                   {"runtime", c.runtime()},
                   {"createdTime", zero},
                   {"checkpointedTime", rfc3339(m.created_unix_ms())},
                   {"restoredTime", zero},
                   {"restored", false},
                   {"gpucrVersion", m.gpucr_version()}};
  return j.dump(2) + "\n";
}

// The order of the image files: the manifest first (a reader judges the archive by it before it
// writes anything), the inventory, the other small files, then the page images.
bool image_order(const std::string& a, const std::string& b) {
  auto rank = [](const std::string& n) {
    if (n == kManifestFile) return 0;
    if (n == criu::kInventoryFile) return 1;
    if (n.rfind("pages-", 0) == 0 || n.rfind("amdgpu-pages-", 0) == 0) return 3;
    return 2;
  };
  return std::make_pair(rank(a), a) < std::make_pair(rank(b), b);
}

Result<archive::ArchivePlan> plan_archive(const CheckpointReport& r, bool container) {
  archive::ArchivePlan plan;
  if (container) {
    const auto& m = r.manifest;
    fs::path bundle = m.container().bundle().empty() ? fs::path(m.target().bundle()) : fs::path(m.container().bundle());
    auto spec = read_file(bundle / "config.json");
    if (!spec) return fail(std::move(spec).error().context("spec.dump (the container's config.json)"));
    plan.add_bytes("spec.dump", std::move(*spec));
    plan.add_bytes("config.dump", config_dump(m));
  }
  plan.add_dir(archive::kCheckpointDir);
  auto names = GPUCR_TRY(list_dir(r.image_dir));
  std::sort(names.begin(), names.end(), image_order);
  for (const auto& n : names) GPUCR_TRY(plan.add_file(std::string(archive::kCheckpointDir) + n, r.image_dir / n));
  GPUCR_TRY(plan.plan_crcs(cpu_threads()));
  return plan;
}

std::string progress_detail(const std::atomic<std::uint64_t>& done, std::uint64_t total) {
  return format_bytes(done.load()) + " of " + format_bytes(total);
}

// The nearest existing directory at or above `p`.
fs::path existing_dir(fs::path p) {
  std::error_code ec;
  while (!p.empty() && !fs::is_directory(p, ec) && p != p.parent_path()) p = p.parent_path();
  return p.empty() ? fs::path("/") : p;
}

}  // namespace

std::string archive_name(const std::string& file, bool written) {
  if (file != "-") return "archive " + file;
  return written ? "the archive on stdout" : "the archive on stdin";
}

ExportReport export_checkpoint(const CheckpointRequest& req, Host& host) {
  ExportReport out;
  const ArchiveOut& a = *req.archive;
  Output dest;
  CheckpointRequest r = req;
  archive::ScratchDir scratch;
  Status ready = dest.open(a);
  if (ready && r.image_dir.empty()) {
    auto s = archive::ScratchDir::create(a.scratch_parent, "export");
    if (s) {
      scratch = std::move(*s);
      r.image_dir = scratch.path();
    } else {
      ready = fail(std::move(s).error());
    }
  }
  if (!ready) {
    out.checkpoint.status = std::move(ready);
    return out;
  }
  out.checkpoint = checkpoint(r, host);
  if (!out.checkpoint.status) return out;  // the private directory goes; the tree is as it was

  Phases p(host.progress);
  std::atomic<std::uint64_t> done{0};
  std::uint64_t total = 0;
  ArchiveSummary sum;
  p.step("write archive", [&]() -> Status {
    auto plan = GPUCR_TRY(plan_archive(out.checkpoint, req.container.has_value()));
    total = plan.index().file_bytes();
    archive::WriteOptions o{a.compression, cpu_threads(), [] { return signals::cancel_requested(); }};
    auto w = GPUCR_TRY(archive::write_archive(dest.fd(), o, plan, dest.name(), &done));
    GPUCR_TRY(dest.commit());
    sum.file = a.file;
    sum.compression = archive::to_string(a.compression);
    sum.members = plan.index().entries.size();
    sum.data_bytes = w.bytes_in;
    sum.archive_bytes = w.bytes_out;
    return {};
  }, [&] { return progress_detail(done, total); });
  auto& phases = out.checkpoint.phases;
  phases.insert(phases.end(), p.timings().begin(), p.timings().end());
  sum.image_dir = r.image_dir;
  sum.image_dir_kept = scratch.empty();
  if (!p.failed()) {
    out.archive = sum;
    return out;
  }
  // The checkpoint itself succeeded: its images are the only copy of the job. They stay.
  scratch.keep();
  Error e = p.result().error();
  e.details.push_back("the checkpoint is complete in " + r.image_dir.string() + ": restore it with `gpucr restore "
                      "--image-dir " + r.image_dir.string() + "`, or copy that directory");
  out.checkpoint.status = fail(std::move(e));
  return out;
}

namespace {

struct Input {
  UniqueFd owned;
  int fd = -1;
};

Result<Input> open_input(const ArchiveIn& a) {
  Input in;
  if (a.file == "-") {
    if (a.fd < 0) return fail(Error("stdin is closed: nowhere to read the archive from", Exit::usage));
    if (::isatty(a.fd)) {
      return fail(Error("refusing to read an archive from a terminal", Exit::usage)
                      .with_hint("redirect stdin (`--import - < FILE`, `ssh HOST gpucr checkpoint ... --export - | gpucr restore --import -`)"));
    }
    in.fd = a.fd;
    return in;
  }
  in.owned = UniqueFd(::open(a.file.c_str(), O_RDONLY | O_CLOEXEC));
  if (!in.owned) return fail(sys_error("cannot open " + a.file, errno).with_exit(Exit::bad_input));
  struct stat st {};
  if (::fstat(in.owned.get(), &st) == 0 && S_ISDIR(st.st_mode)) {
    return fail(Error(a.file + " is a directory, not an archive", Exit::usage)
                    .with_hint("restore an image directory with --image-dir DIR"));
  }
  in.fd = in.owned.get();
  return in;
}

// Whether this host can take the archive's checkpoint, judged before anything is extracted; the
// GPU map it would use is shown.
Status check_destination(const RestoreRequest& req, Host& host, const pb::Manifest& manifest,
                         const archive::Head& head, const fs::path& dir, const std::string& what) {
  fs::path where = dir.empty() ? req.archive->scratch_parent : existing_dir(dir);
  std::uint64_t staged = is_on_tmpfs(where) ? head.index.file_bytes() : 0;
  auto d = GPUCR_TRY(assess_destination(manifest, host, req.criu.plugins_dir.value_or(host.criu_plugin_dir),
                                        req.device_map, req.cuda.allocation, staged));
  for (const auto& n : d.verdict.notes) host.progress.note(n);
  GPUCR_TRY(d.verdict.status(what));
  if (d.map_error) return fail(std::move(*d.map_error).context(what));
  if (d.map && !d.map->pairs.empty()) host.progress.note("GPU map (" + d.map->how + "): " + d.map->describe());
  return {};
}

// After the restore: a private directory goes once the job runs; after a failure the extracted
// images stay, and the error says how to retry from them.
void settle_scratch(RestoreReport& r, archive::ScratchDir& scratch, const fs::path& dir, Host& host) {
  if (r.status) {
    if (!scratch.empty()) {
      if (auto st = scratch.remove(); !st) host.progress.note(st.error().what);
    }
    return;
  }
  scratch.keep();
  Error e = r.status.error();
  e.details.push_back("the extracted images stay in " + dir.string() + ": after fixing the cause, `gpucr restore --image-dir " +
                      dir.string() + "` retries without the archive");
  r.status = fail(std::move(e));
}

}  // namespace

ImportReport import_and_restore(const RestoreRequest& req, Host& host) {
  ImportReport out;
  const ArchiveIn& a = *req.archive;
  const std::string what = archive_name(a.file);
  Phases p(host.progress);
  Input in;
  std::optional<archive::Extractor> x;
  pb::Manifest manifest;
  archive::ScratchDir scratch;
  fs::path dir = req.image_dir;
  std::atomic<std::uint64_t> done{0};
  ArchiveSummary sum;
  p.step("read archive", [&]() -> Status {
    in = GPUCR_TRY(open_input(a));
    x = GPUCR_TRY(archive::Extractor::open(in.fd, what, kArchiveManifest));
    manifest = GPUCR_TRY(decode_manifest(x->head().members.at(kArchiveManifest), what + ": " + kArchiveManifest));
    return {};
  });
  p.step("check destination", [&] { return check_destination(req, host, manifest, x->head(), dir, what); });
  p.step("extract archive", [&]() -> Status {
    if (dir.empty()) {
      scratch = GPUCR_TRY(archive::ScratchDir::create(a.scratch_parent, "import"));
      dir = scratch.path();
    }
    auto r = GPUCR_TRY(x->extract({dir, nullptr, &done, [] { return signals::cancel_requested(); }}));
    sum.file = a.file;
    sum.compression = x->head().compression;
    sum.members = x->head().index.entries.size();
    sum.data_bytes = r.bytes_verified;
    sum.image_dir = dir;
    sum.image_dir_kept = scratch.empty();
    return {};
  }, [&] { return progress_detail(done, x ? x->head().index.file_bytes() : 0); });
  if (p.failed()) {
    out.restore.status = p.result();
    out.restore.phases = p.timings();
    return out;  // whatever extraction made is gone, the private directory too
  }
  out.archive = sum;
  RestoreRequest r = req;
  r.image_dir = dir;
  r.archive.reset();
  out.restore = restore(r, host);
  auto& phases = out.restore.phases;
  phases.insert(phases.begin(), p.timings().begin(), p.timings().end());
  settle_scratch(out.restore, scratch, dir, host);
  return out;
}

Result<ArchiveView> open_archive_view(int fd, const std::string& file, const fs::path& scratch_parent) {
  ArchiveView v;
  auto x = GPUCR_TRY(archive::Extractor::open(fd, archive_name(file), kArchiveManifest));
  v.dir = GPUCR_TRY(archive::ScratchDir::create(scratch_parent, "inspect"));
  auto small = [](std::string_view n) { return n.rfind("pages-", 0) != 0 && n.rfind("amdgpu-pages-", 0) != 0; };
  auto r = GPUCR_TRY(x.extract({v.dir.path(), small, nullptr}));
  v.summary.file = file;
  v.summary.compression = x.head().compression;
  v.summary.members = x.head().index.entries.size();
  v.summary.data_bytes = r.bytes_verified;
  for (const auto& e : x.head().index.entries) {
    if (e.kind != archive::Kind::file) continue;
    if (archive::image_file_name(e.name).empty()) {
      v.top_level.push_back(e.name);
    } else {
      v.image_bytes += e.size;
      ++v.image_files;
    }
  }
  return v;
}

}  // namespace gpucr
