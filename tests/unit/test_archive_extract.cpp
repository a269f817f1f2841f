// archive/extract: the safe reader of checkpoint archives. Each hostile archive is refused with
// the member named, and extraction leaves nothing behind.
#include "archive/extract.hpp"

#include "support.hpp"
#include "tar_craft.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

using namespace gpucr;
using namespace gpucr::archive;
using namespace gpucr::fakes;

namespace {

const char* kHead = "checkpoint/gpucr-manifest";

std::vector<TarMember> good_members() {
  return {{"spec.dump", '0', "{\"ociVersion\": \"1.0.2\"}"},
          {"checkpoint/", '5', ""},
          {kHead, '0', "MANIFEST"},
          {"checkpoint/inventory.img", '0', "INVENTORY"},
          {"checkpoint/pages-1.img", '0', std::string(70000, 'p')}};
}

struct World {
  TempDir tmp;
  fs::path file = tmp / "a.tar";
  fs::path dir = tmp / "images";

  int open(const std::string& bytes) {
    EXPECT_TRUE(write_file_atomic(file, bytes, 0600).ok());
    fd_ = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
    return fd_;
  }
  ~World() {
    if (fd_ >= 0) ::close(fd_);
  }
  // Everything in tmp besides the archive (must stay empty after a refusal).
  std::vector<std::string> left() const {
    auto all = list_dir(tmp.path()).value_or(std::vector<std::string>{"?"});
    all.erase(std::remove(all.begin(), all.end(), "a.tar"), all.end());
    return all;
  }
  Result<ExtractResult> extract(const std::string& bytes) {
    auto x = Extractor::open(open(bytes), "archive a.tar", kHead);
    if (!x) return fail(std::move(x).error());
    return x->extract({dir});
  }

 private:
  int fd_ = -1;
};

std::string err(const Result<ExtractResult>& r) { return r ? "ok" : r.error().what; }

}  // namespace

TEST(ArchiveExtract, ReadsTheHeadThenWritesTheImagesPrivatelyAndVerifiesAll) {
  World w;
  auto x = Extractor::open(w.open(gpucr_tar(good_members())), "archive a.tar", kHead);
  ASSERT_TRUE(x) << x.error().what;
  EXPECT_EQ(x->head().compression, "none");
  EXPECT_EQ(x->head().members.at(kHead), "MANIFEST");
  EXPECT_EQ(x->head().members.at("spec.dump"), "{\"ociVersion\": \"1.0.2\"}");
  EXPECT_TRUE(w.left().empty()) << "nothing is written before extract()";
  auto r = x->extract({w.dir});
  ASSERT_TRUE(r) << r.error().what;
  EXPECT_EQ(r->files_written, 3u);
  EXPECT_EQ(list_dir(w.dir).value(), (std::vector<std::string>{"gpucr-manifest", "inventory.img", "pages-1.img"}));
  EXPECT_EQ(slurp(w.dir / "pages-1.img"), std::string(70000, 'p'));
  struct stat st {};
  ASSERT_EQ(::stat((w.dir / "pages-1.img").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  ASSERT_EQ(::stat(w.dir.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0700u);
  EXPECT_FALSE(fs::exists(w.dir / "spec.dump")) << "top-level members are verified, never extracted";
}

TEST(ArchiveExtract, AFilterChoosesWhatIsWrittenTheRestIsStillVerified) {
  World w;
  auto members = good_members();
  auto x = Extractor::open(w.open(gpucr_tar(members)), "archive a.tar", kHead);
  ASSERT_TRUE(x);
  auto r = x->extract({w.dir, [](std::string_view n) { return n.rfind("pages-", 0) != 0; }});
  ASSERT_TRUE(r) << r.error().what;
  EXPECT_FALSE(fs::exists(w.dir / "pages-1.img"));
  EXPECT_TRUE(fs::exists(w.dir / "inventory.img"));
  EXPECT_EQ(r->bytes_verified, 23u + 8 + 9 + 70000);
}

TEST(ArchiveExtract, HostileMembersAreRefusedByNameAndNothingIsLeft) {
  struct Case {
    TarMember m;
    const char* says;
  };
  std::vector<Case> cases = {
      {{"checkpoint/evil", '2', "", 0777, "/etc"}, "refused symbolic link 'checkpoint/evil' -> '/etc'"},
      {{"checkpoint/evil", '1', "", 0600, "/etc/passwd"}, "refused hard link 'checkpoint/evil' -> '/etc/passwd'"},
      {{"checkpoint/null", '3', "", 0600}, "refused character device 'checkpoint/null': device nodes"},
      {{"checkpoint/sda", '4', "", 0600}, "refused block device 'checkpoint/sda'"},
      {{"checkpoint/fifo", '6', "", 0600}, "refused fifo 'checkpoint/fifo'"},
      {{"checkpoint/suid", '0', "x", 04755}, "refused file 'checkpoint/suid': mode 4755 has setuid"},
      {{"../escape", '0', "x"}, "refused file '../escape': '..' would leave"},
      {{"checkpoint/../../escape", '0', "x"}, "'..' would leave"},
      {{"/tmp/abs", '0', "x"}, "refused file '/tmp/abs': absolute names"},
      {{"checkpoint/sub/deep", '0', "x"}, "only checkpoint/, checkpoint/NAME and NAME"},
  };
  for (const auto& c : cases) {
    World w;
    // The hostile member is listed nowhere: refused on sight, whatever the index says.
    auto members = good_members();
    auto r = w.extract(gpucr_tar({members[0], members[1], members[2]}, false) + tar_member(c.m) + tar_end());
    ASSERT_FALSE(r) << c.m.name;
    EXPECT_EQ(r.error().exit, Exit::bad_input);
    EXPECT_NE(r.error().what.find(c.says), std::string::npos) << r.error().what;
    EXPECT_TRUE(w.left().empty()) << c.m.name;
    EXPECT_FALSE(fs::exists("/tmp/abs")) << "nothing written outside";
  }
}

TEST(ArchiveExtract, MembersMustBeExactlyTheIndexInOrder) {
  auto members = good_members();
  {
    World w;  // a member the index does not list
    auto idx = index_for(members);
    auto extra = TarMember{"checkpoint/extra", '0', "x"};
    auto r = w.extract(tar({idx, members[0], members[1], members[2], extra}));
    EXPECT_NE(err(r).find("member 'checkpoint/extra' is not the one its index lists next ('checkpoint/inventory.img')"),
              std::string::npos)
        << err(r);
    EXPECT_TRUE(w.left().empty());
  }
  {
    World w;  // one more after the last listed
    auto r = w.extract(gpucr_tar(members, false) + tar_member({"checkpoint/extra", '0', "x"}) + tar_end());
    EXPECT_NE(err(r).find("member 'checkpoint/extra' follows the last one its index lists"), std::string::npos) << err(r);
    EXPECT_TRUE(w.left().empty());
  }
  {
    World w;  // data that differs from the index's CRC
    auto idx = index_for(members);
    auto damaged = members;
    damaged[4].data[1234] = 'q';
    auto r = w.extract(tar({idx, damaged[0], damaged[1], damaged[2], damaged[3], damaged[4]}));
    EXPECT_NE(err(r).find("'checkpoint/pages-1.img' is damaged: its data has CRC-32"), std::string::npos) << err(r);
    EXPECT_TRUE(w.left().empty()) << "written files are removed again";
  }
  {
    World w;  // a header size that differs from the index
    auto idx = index_for(members);
    auto longer = members;
    longer[3].data += "more";
    auto r = w.extract(tar({idx, longer[0], longer[1], longer[2], longer[3], longer[4]}));
    EXPECT_NE(err(r).find("'checkpoint/inventory.img' is 13 bytes, its index says 9"), std::string::npos) << err(r);
  }
}

TEST(ArchiveExtract, TruncationAnywhereIsRefusedNamingWhatIsMissing) {
  std::string whole = gpucr_tar(good_members(), false);
  {
    World w;  // cut at a member boundary: libarchive reads a clean end of archive
    std::string cut = whole.substr(0, whole.size() - tar_member(good_members()[4]).size());
    auto r = w.extract(cut);
    EXPECT_NE(err(r).find("it ends after 4 of the 5 members its index lists: 'checkpoint/pages-1.img' and 0 more are "
                          "missing (truncated)"),
              std::string::npos)
        << err(r);
    EXPECT_TRUE(w.left().empty());
  }
  {
    World w;  // cut inside the page image
    auto r = w.extract(whole.substr(0, whole.size() - 30000));
    EXPECT_NE(err(r).find("pages-1.img"), std::string::npos) << err(r);
    EXPECT_EQ(r.error().exit, Exit::bad_input);
    EXPECT_TRUE(w.left().empty());
  }
}

TEST(ArchiveExtract, NotAGpucrArchiveOrGarbageIsRefused) {
  {
    World w;
    auto r = Extractor::open(w.open(tar({{"checkpoint/", '5', ""}, {"config.dump", '0', "{}"}})), "archive a.tar", kHead);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().what.find("is not a gpucr checkpoint archive: its first member is 'checkpoint/'"),
              std::string::npos)
        << r.error().what;
  }
  {
    World w;
    std::string garbage;
    for (int i = 0; i < 5000; ++i) garbage.push_back(static_cast<char>((i * 7919) % 251));
    auto r = Extractor::open(w.open(garbage), "archive a.tar", kHead);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().exit, Exit::bad_input);
    EXPECT_NE(r.error().what.find("archive a.tar: "), std::string::npos) << r.error().what;
  }
  {
    World w;
    auto r = Extractor::open(w.open(""), "archive a.tar", kHead);
    ASSERT_FALSE(r);
  }
  {
    World w;  // an index without the head member
    auto r = Extractor::open(w.open(gpucr_tar({{"checkpoint/", '5', ""}})), "archive a.tar", kHead);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().what.find("its index lists no checkpoint/gpucr-manifest"), std::string::npos) << r.error().what;
  }
}

TEST(ArchiveExtract, AnArchiveLargerThanTheFreeSpaceIsRefusedBeforeAByteIsWritten) {
  World w;
  auto members = good_members();
  members[4].size = 1ull << 50;  // a petabyte of "pages", said by the index and the header alike
  auto r = w.extract(gpucr_tar(members, false));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().exit, Exit::not_permitted);
  EXPECT_NE(r.error().what.find("would take 1024.0 TiB"), std::string::npos) << r.error().what;
  EXPECT_NE(r.error().what.find("refused before writing anything"), std::string::npos) << r.error().what;
  EXPECT_TRUE(w.left().empty());
}

TEST(ArchiveExtract, BigMembersBeforeTheHeadAreRefused) {
  World w;
  auto members = good_members();
  members[0].data = std::string(kMaxHeadMember + 1, 's');
  auto x = Extractor::open(w.open(gpucr_tar(members)), "archive a.tar", kHead);
  ASSERT_FALSE(x);
  EXPECT_NE(x.error().what.find("comes before checkpoint/gpucr-manifest, where only metadata"), std::string::npos)
      << x.error().what;
}

TEST(ArchiveExtract, TheTargetMustBeNewOrEmptyAndAnExistingOneStays) {
  World w;
  fs::create_directories(w.dir);
  auto members = good_members();
  members[4].data[5] ^= 1;  // damaged after the index was made
  auto idx = index_for(good_members());
  auto r = w.extract(tar({idx, members[0], members[1], members[2], members[3], members[4]}));
  ASSERT_FALSE(r);
  EXPECT_TRUE(fs::is_directory(w.dir)) << "the caller's directory stays";
  EXPECT_TRUE(list_dir(w.dir).value().empty()) << "emptied of what extraction wrote";
  write_file_atomic(w.dir / "x", "x").value();
  auto again = w.extract(gpucr_tar(good_members()));
  ASSERT_FALSE(again);
  EXPECT_NE(again.error().what.find("is not empty"), std::string::npos);
}

TEST(ArchiveExtract, CheckMemberAcceptsOnlyPlainFilesAndTheDirectory) {
  Member m;
  m.name = "checkpoint/core-1.img";
  m.filetype = 0100000;  // AE_IFREG
  m.size_set = true;
  m.mode_bits = 0644;
  EXPECT_TRUE(check_member(m, "a"));
  m.sparse = true;
  EXPECT_FALSE(check_member(m, "a"));
  m.sparse = false;
  m.mode_bits = 01644;
  EXPECT_FALSE(check_member(m, "a"));
  m.mode_bits = 0644;
  m.size_set = false;
  EXPECT_FALSE(check_member(m, "a"));
}

TEST(ArchiveExtract, ACancelRequestStopsAndCleansUp) {
  World w;
  auto x = Extractor::open(w.open(gpucr_tar(good_members())), "archive a.tar", kHead);
  ASSERT_TRUE(x);
  auto r = x->extract({w.dir, nullptr, nullptr, [] { return true; }});
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().what.find("interrupted"), std::string::npos) << r.error().what;
  EXPECT_TRUE(w.left().empty());
}
