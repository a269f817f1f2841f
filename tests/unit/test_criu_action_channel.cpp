// criu/action_channel: criu's action script (gpucr as the hook) asks the gpucr that runs the dump
// over a unix socket, and gets its verdict.
#include "criu/action_channel.hpp"

#include "support.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <future>
#include <thread>

using namespace gpucr;
using gpucr::fakes::TempDir;

namespace {

// Serves `server` until `done` is ready (the hook in another thread got its answer).
template <class T>
void serve_until(criu::ActionServer& server, std::future<T>& done, const criu::ActionServer::Handler& h) {
  while (done.wait_for(std::chrono::milliseconds(5)) != std::future_status::ready) server.serve(h);
}

}  // namespace

TEST(ActionChannel, TheHookGetsTheServersVerdict) {
  TempDir t;
  auto server = criu::ActionServer::listen(t / "op.sock");
  ASSERT_TRUE(server) << server.error().what;
  std::vector<std::string> seen;
  auto ok = std::async(std::launch::async, [&] { return criu::ask(t / "op.sock", "post-dump", Clock::now() + std::chrono::seconds(10)); });
  serve_until(*server, ok, [&](std::string_view a) {
    seen.emplace_back(a);
    return Status{};
  });
  EXPECT_TRUE(ok.get());
  EXPECT_EQ(seen, std::vector<std::string>{"post-dump"});

  auto refused = std::async(std::launch::async, [&] { return criu::ask(t / "op.sock", "post-dump", Clock::now() + std::chrono::seconds(10)); });
  serve_until(*server, refused, [](std::string_view) { return Status(fail(Error("the manifest did not\nread back"))); });
  auto r = refused.get();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().what, "the manifest did not read back");  // one line on the wire
}

TEST(ActionChannel, NoServerMeansTheHookFailsNamingTheSocket) {
  TempDir t;
  auto r = criu::ask(t / "gone.sock", "post-dump", Clock::now() + std::chrono::seconds(1));
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().what.find("gpucr is not listening on " + (t / "gone.sock").string()), std::string::npos);
}

TEST(ActionChannel, AServerThatNeverAnswersFailsTheHookAtItsDeadline) {
  TempDir t;
  auto server = criu::ActionServer::listen(t / "op.sock");
  ASSERT_TRUE(server);
  auto t0 = Clock::now();
  auto r = criu::ask(t / "op.sock", "post-dump", t0 + std::chrono::milliseconds(200));
  ASSERT_FALSE(r);
  EXPECT_GE(Clock::now() - t0, std::chrono::milliseconds(200));
  EXPECT_NE(r.error().what.find("no answer in time"), std::string::npos);
}

TEST(ActionChannel, TheSocketIsPrivateAndGoesWithTheServer) {
  TempDir t;
  {
    auto server = criu::ActionServer::listen(t / "op.sock");
    ASSERT_TRUE(server);
    struct stat st {};
    ASSERT_EQ(::stat((t / "op.sock").c_str(), &st), 0);
    EXPECT_TRUE(S_ISSOCK(st.st_mode));
    EXPECT_EQ(st.st_mode & 0777, 0600u);
  }
  EXPECT_FALSE(fs::exists(t / "op.sock"));
}

TEST(ActionChannel, ATooLongPathIsRefusedWithAHint) {
  auto r = criu::ActionServer::listen(fs::path("/tmp") / std::string(200, 'x'));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().exit, Exit::usage);
  EXPECT_NE(r.error().hint.find("GPUCR_RUN_DIR"), std::string::npos);
}
