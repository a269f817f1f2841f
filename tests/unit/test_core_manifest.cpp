// core/manifest: the gpucr-manifest envelope (magic, format version, length, CRC-32, payload).
#include "core/manifest.hpp"

#include "support.hpp"

#include <google/protobuf/util/message_differencer.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

using namespace gpucr;
using namespace gpucr::fakes;
using ::testing::HasSubstr;

namespace {

// A manifest with every kind of field set: strings, int64, a sub-message, repeated messages,
// repeated ints (NSpid), uint64, bools.
pb::Manifest full_manifest() {
  pb::Manifest m;
  m.set_gpucr_version("0.1.0");
  m.set_criu_version("4.1.1");
  m.set_hostname("host-a");
  m.set_kernel("6.18.44");
  m.set_created_unix_ms(1795300000123);
  m.mutable_target()->set_root_pid(4100);
  m.mutable_target()->set_container_id("c1");
  m.mutable_target()->set_runtime("runc");
  m.mutable_target()->set_bundle("/b");
  for (int i = 0; i < 3; ++i) {
    auto* p = m.add_processes();
    p->set_pid(4100 + i);
    p->set_ppid(i == 0 ? 1 : 4100);
    p->add_nspid(4100 + i);
    p->add_nspid(1 + i);
    p->set_comm("proc " + std::to_string(i) + ") x");
    p->set_start_time(18446744073709551615ull - static_cast<unsigned>(i));
    p->set_pgid(4100);
    p->set_sid(4100);
    p->set_threads(2 - i);
  }
  auto* ph = m.add_phases();
  ph->set_name("criu dump");
  ph->set_duration_us(123456);
  ph->set_ok(true);
  m.add_phases()->set_name("failed one");
  auto* f = m.mutable_flags();
  f->set_leave_running(true);
  f->set_tcp_established(true);
  f->set_shell_job(true);
  f->set_ext_unix_sk(true);
  f->set_file_locks(true);
  return m;
}

void expect_bad(const std::string& bytes, const std::string& why) {
  auto r = decode_manifest(bytes, "/img/gpucr-manifest");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().exit, Exit::bad_input);
  EXPECT_THAT(r.error().what, HasSubstr("/img/gpucr-manifest"));
  EXPECT_THAT(r.error().what, HasSubstr(why));
}

}  // namespace

TEST(CoreManifest, RoundTripKeepsEveryField) {
  pb::Manifest m = full_manifest();
  auto r = decode_manifest(encode_manifest(m), "m");
  ASSERT_TRUE(r) << r.error().what;
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(*r, m)) << r->DebugString();
  EXPECT_EQ(r->processes(2).comm(), "proc 2) x");
  EXPECT_EQ(r->processes(0).start_time(), 18446744073709551615ull);
}

TEST(CoreManifest, EnvelopeLayoutIsAsDocumented) {
  pb::Manifest m = full_manifest();
  std::string b = encode_manifest(m);
  std::string payload = m.SerializeAsString();
  ASSERT_EQ(b.size(), 20 + payload.size());
  EXPECT_EQ(b.substr(0, 8), "GPUCRMAN");
  EXPECT_EQ(b.substr(8, 4), bytes({1, 0, 0, 0}));
  std::uint32_t len = static_cast<unsigned char>(b[12]) | static_cast<unsigned char>(b[13]) << 8;
  EXPECT_EQ(len, payload.size());
  EXPECT_EQ(b.substr(20), payload);
}

TEST(CoreManifest, EmptyManifestRoundTrips) {
  auto r = decode_manifest(encode_manifest(pb::Manifest()), "m");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->processes_size(), 0);
}

TEST(CoreManifest, WrongMagicIsBadInput) {
  std::string b = encode_manifest(full_manifest());
  b[0] = 'X';
  expect_bad(b, "wrong magic");
}

TEST(CoreManifest, NewerFormatIsRefusedWithAHint) {
  std::string b = encode_manifest(full_manifest());
  b[8] = 2;
  auto r = decode_manifest(b, "/img/gpucr-manifest");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().exit, Exit::bad_input);
  EXPECT_THAT(r.error().what, HasSubstr("has manifest format 2; this gpucr reads formats 1..1"));
  EXPECT_THAT(r.error().hint, HasSubstr("newer"));
  b[8] = 0;
  expect_bad(b, "format 0");
}

TEST(CoreManifest, TruncatedPayloadIsBadInput) {
  std::string b = encode_manifest(full_manifest());
  expect_bad(b.substr(0, b.size() - 1), "payload is");
  expect_bad(b.substr(0, 19), "truncated header (19 bytes)");
  expect_bad("", "truncated header (0 bytes)");
  expect_bad(b + "x", "header says");
}

TEST(CoreManifest, EveryTruncationIsAnError) {
  std::string b = encode_manifest(full_manifest());
  for (size_t n = 0; n < b.size(); ++n) EXPECT_FALSE(decode_manifest(b.substr(0, n), "m")) << n;
}

TEST(CoreManifest, FlippedPayloadByteIsAChecksumMismatch) {
  std::string b = encode_manifest(full_manifest());
  for (size_t at : {size_t{20}, b.size() / 2, b.size() - 1}) {
    std::string c = b;
    c[at] = static_cast<char>(c[at] ^ 0x01);
    expect_bad(c, "checksum mismatch");
  }
  std::string c = b;
  c[16] = static_cast<char>(c[16] ^ 0x80);  // the checksum itself
  expect_bad(c, "checksum mismatch");
}

TEST(CoreManifest, WriteThenReadFromTheImageDir) {
  TempDir dir;
  ASSERT_TRUE(write_manifest(dir.path(), full_manifest()));
  EXPECT_EQ(mode_of(dir / "gpucr-manifest"), 0600u);
  auto r = read_manifest(dir.path());
  ASSERT_TRUE(r) << r.error().what;
  ASSERT_TRUE(r->has_value());
  EXPECT_EQ((*r)->hostname(), "host-a");
}

TEST(CoreManifest, NoManifestIsNotAnError) {
  TempDir dir;
  auto r = read_manifest(dir.path());
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->has_value());
}

TEST(CoreManifest, CorruptManifestFileIsBadInput) {
  TempDir dir;
  put_file(dir / "gpucr-manifest", "GPUCRMAN garbage");
  auto r = read_manifest(dir.path());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().exit, Exit::bad_input);
  EXPECT_THAT(r.error().what, HasSubstr((dir / "gpucr-manifest").string()));
}
