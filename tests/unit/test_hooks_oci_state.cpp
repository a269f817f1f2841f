// hooks/oci_state: the OCI state JSON a hook reads on stdin, and the bounded read of it.
#include "container_fakes.hpp"
#include "hooks/gpu_presence.hpp"
#include "hooks/hooks_file.hpp"
#include "hooks/oci_state.hpp"
#include "runtime/bundle.hpp"
#include "runtime/cgroup.hpp"
#include "runtime/runtime.hpp"
#include "util/file.hpp"

#include <gtest/gtest.h>
#include <fcntl.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

using namespace gpucr;
using gpucr::ctrtest::TempDir;

static const char* kPrestartState =
    R"({"ociVersion":"1.0.2-dev","id":"c1","status":"creating","pid":4242,"bundle":"/b",)"
    R"("annotations":{"io.x":"y"},"rootfs":"/b/rootfs","future":{"nested":[1,2]}})";

TEST(OciState, ParsesTheStateRuncGivesPrestartAndIgnoresUnknownFields) {
  auto s = hooks::parse_oci_state(kPrestartState);
  ASSERT_TRUE(s) << s.error().what;
  EXPECT_EQ(s->id, "c1");
  EXPECT_EQ(s->status, "creating");
  EXPECT_EQ(s->pid, 4242);
  EXPECT_EQ(s->bundle, fs::path("/b"));
  EXPECT_EQ(s->annotations.at("io.x"), "y");
}

TEST(OciState, PoststopStateWithoutPidIsAccepted) {
  auto s = hooks::parse_oci_state(R"({"ociVersion":"1.0.2","id":"c1","status":"stopped","bundle":"/b"})");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->pid, 0);
}

TEST(OciState, RefusesMalformedAndHostileInputWithAClearMessage) {
  const std::vector<std::string> bad = {
      "", "not json", "[1,2]", "\"string\"", R"({"id":"c1"})",
      R"({"ociVersion":"1","status":"created","bundle":"/b"})",                    // no id
      R"({"ociVersion":"1","id":7,"status":"created","bundle":"/b"})",             // id not a string
      R"({"ociVersion":"1","id":"c1","status":"exploded","bundle":"/b"})",         // unknown status
      R"({"ociVersion":"1","id":"c1","status":"created","bundle":"rel/b"})",       // relative bundle
      R"({"ociVersion":"1","id":"c1","status":"created","bundle":"/b","pid":-1})",
      R"({"ociVersion":"1","id":"c1","status":"created","bundle":"/b","pid":"12"})",
      R"({"ociVersion":"1","id":"c1","status":"created","bundle":"/b","pid":99999999})",
      R"({"ociVersion":"1","id":"c1","status":"created","bundle":"/b","annotations":{"k":1}})",
      R"({"ociVersion":"1","id":"c1","status":"created","bundle":"/b","annotations":[]})",
      R"({"ociVersion":"","id":"c1","status":"created","bundle":"/b"})",
      std::string(hooks::kMaxStateBytes + 1, ' '),
  };
  for (const auto& text : bad) {
    auto s = hooks::parse_oci_state(text);
    ASSERT_FALSE(s) << text.substr(0, 80);
    EXPECT_EQ(s.error().exit, Exit::bad_input);
    EXPECT_EQ(s.error().what.rfind("malformed OCI state on stdin: ", 0), 0u) << s.error().what;
  }
}

TEST(OciState, DeeplyNestedUnknownFieldDoesNotCrash) {
  std::string deep = std::string(100000, '[') + std::string(100000, ']');
  auto s = hooks::parse_oci_state(R"({"ociVersion":"1","id":"c1","status":"created","bundle":"/b","x":)" + deep + "}");
  EXPECT_TRUE(s);
}

TEST(OciState, ReadBoundedStopsAtTheLimitAndAtTheDeadline) {
  int p[2];
  ASSERT_EQ(::pipe(p), 0);
  std::string big(5000, 'x');
  ASSERT_EQ(::write(p[1], big.data(), big.size()), static_cast<ssize_t>(big.size()));
  auto over = hooks::read_bounded(p[0], 4096, std::chrono::seconds(5));
  EXPECT_FALSE(over);  // more than 4096 bytes
  auto slow = hooks::read_bounded(p[0], 1 << 20, std::chrono::milliseconds(100));
  ASSERT_FALSE(slow);  // the writer never closes
  EXPECT_NE(slow.error().what.find("no end of input"), std::string::npos);
  ::close(p[1]);
  auto rest = hooks::read_bounded(p[0], 1 << 20, std::chrono::seconds(5));
  ASSERT_TRUE(rest);
  ::close(p[0]);
}
