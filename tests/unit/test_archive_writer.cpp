// archive/writer: the index first, then every planned member, compressed as asked; each file's
// size and CRC checked while it is copied.
#include "archive/writer.hpp"

#include "archive/extract.hpp"
#include "support.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

using namespace gpucr;
using namespace gpucr::archive;
using namespace gpucr::fakes;

namespace {

std::string pattern(size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 2654435761u) >> 13);
  return s;
}

struct World {
  TempDir tmp;
  fs::path images = tmp / "images";
  World() {
    fs::create_directories(images);
    write_file_atomic(images / "gpucr-manifest", "MANIFEST").value();
    write_file_atomic(images / "pages-1.img", pattern(300000)).value();
    write_file_atomic(images / "empty", "").value();
  }
  ArchivePlan plan() {
    ArchivePlan p;
    p.add_bytes("spec.dump", "{}");
    p.add_dir("checkpoint/");
    for (const char* n : {"gpucr-manifest", "empty", "pages-1.img"}) {
      EXPECT_TRUE(p.add_file(std::string("checkpoint/") + n, images / n));
    }
    EXPECT_TRUE(p.plan_crcs(3, 4096));
    return p;
  }
};

}  // namespace

TEST(ArchiveWriter, EachCompressionRoundTripsThroughTheExtractor) {
  for (auto c : {Compression::zstd, Compression::gzip, Compression::none}) {
    World w;
    auto plan = w.plan();
    fs::path file = w.tmp / "a.tar";
    int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    std::atomic<std::uint64_t> done{0};
    auto r = write_archive(fd, {c, 2}, plan, "archive a", &done);
    ::close(fd);
    ASSERT_TRUE(r) << r.error().what;
    EXPECT_EQ(done.load(), 2u + 8 + 0 + 300000);
    EXPECT_EQ(r->bytes_out, fs::file_size(file));
    if (c != Compression::none) {
      EXPECT_LT(r->bytes_out, 300000u) << to_string(c);
    }
    int in = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
    auto x = Extractor::open(in, "archive a", "checkpoint/gpucr-manifest");
    ASSERT_TRUE(x) << x.error().what;
    EXPECT_EQ(x->head().compression, to_string(c));
    EXPECT_EQ(x->head().index.entries.size(), 5u);
    auto e = x->extract({w.tmp / "out"});
    ::close(in);
    ASSERT_TRUE(e) << e.error().what;
    EXPECT_EQ(slurp(w.tmp / "out/pages-1.img"), pattern(300000));
    EXPECT_EQ(slurp(w.tmp / "out/empty"), "");
  }
}

TEST(ArchiveWriter, ChunkedCrcsEqualTheWholeFilesCrc) {
  World w;
  auto plan = w.plan();
  std::string data = pattern(300000);
  EXPECT_EQ(plan.index().find("checkpoint/pages-1.img")->crc, crc32_of(0, data.data(), data.size()));
  EXPECT_EQ(plan.index().find("checkpoint/empty")->crc, 0u);
  EXPECT_EQ(plan.index().find("spec.dump")->crc, crc32_of(0, "{}", 2));
}

TEST(ArchiveWriter, AFileThatChangedAfterPlanningFailsTheArchive) {
  World w;
  auto plan = w.plan();
  std::string changed = pattern(300000);
  changed[100] ^= 1;
  write_file_atomic(w.images / "pages-1.img", changed).value();
  int fd = ::open((w.tmp / "a.tar").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  auto r = write_archive(fd, {Compression::none, 1}, plan, "archive a");
  ::close(fd);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().what.find("pages-1.img changed while it was archived"), std::string::npos) << r.error().what;
}

TEST(ArchiveWriter, OnlyRegularFilesWithSafeNamesArePlanned) {
  World w;
  ArchivePlan p;
  fs::create_symlink("/etc/passwd", w.images / "link");
  EXPECT_NE(p.add_file("checkpoint/link", w.images / "link").error().what.find("not a regular file"), std::string::npos);
  EXPECT_NE(p.add_file("checkpoint/sub", w.tmp.path()).error().what.find("not a regular file"), std::string::npos);
  EXPECT_NE(p.add_file("checkpoint/../x", w.images / "empty").error().what.find("is not a name"), std::string::npos);
}

TEST(ArchiveWriter, AReaderThatWentAwayIsAWriteErrorNotADeath) {
  World w;
  auto plan = w.plan();
  int fds[2];
  ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);
  ::close(fds[0]);
  auto r = write_archive(fds[1], {Compression::zstd, 1}, plan, "the archive on stdout");
  ::close(fds[1]);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().what.find("the archive on stdout"), std::string::npos) << r.error().what;
  EXPECT_NE(r.error().what.find("Broken pipe"), std::string::npos) << r.error().what;
}

TEST(ArchiveWriter, ACancelRequestStopsTheWriting) {
  World w;
  auto plan = w.plan();
  int fd = ::open((w.tmp / "a.tar").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  auto r = write_archive(fd, {Compression::none, 1, [] { return true; }}, plan, "archive a");
  ::close(fd);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().what, "archive a: interrupted (SIGINT, SIGTERM or SIGHUP): the archive is incomplete");
}
