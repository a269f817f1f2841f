// The `gpucr __cuda-call` protocol (src/gpu/cuda/backends.cpp): the helper's argv and the
// parsing of its one-line JSON reply.
#include "gpu/cuda/checkpointer.hpp"

#include <gtest/gtest.h>

using namespace gpucr;
using namespace gpucr::cuda;

namespace {

using Argv = std::vector<std::string>;

GpuPair pair(const char* o, const char* n) { return {*parse_uuid(o), *parse_uuid(n)}; }

const char* kA = "GPU-fa4e0000-0000-4000-8000-000000000000";
const char* kB = "GPU-fa4e0001-0000-4000-8000-000000000001";

}  // namespace

TEST(HelperArgv, LockCarriesTheDriverTimeout) {
  CallArgs args;
  args.lock_timeout = std::chrono::milliseconds(2500);
  EXPECT_EQ(helper_argv("/usr/bin/gpucr", Step::lock, 42, args),
            (Argv{"/usr/bin/gpucr", "__cuda-call", "lock", "--pid", "42", "--timeout-ms", "2500"}));
}

TEST(HelperArgv, RestoreCarriesTheMapOnlyWhenThereIsOne) {
  CallArgs args;
  EXPECT_EQ(helper_argv("g", Step::restore, 7, args), (Argv{"g", "__cuda-call", "restore", "--pid", "7"}));
  args.map = {pair(kA, kB), pair(kB, kA)};
  EXPECT_EQ(helper_argv("g", Step::restore, 7, args),
            (Argv{"g", "__cuda-call", "restore", "--pid", "7", "--map",
                  std::string(kA) + "=" + kB + "," + kB + "=" + kA}));
}

TEST(HelperArgv, OtherStepsTakeOnlyThePid) {
  CallArgs args;
  args.map = {pair(kA, kB)};  // ignored outside restore
  EXPECT_EQ(helper_argv("g", Step::get_state, 9, args), (Argv{"g", "__cuda-call", "get-state", "--pid", "9"}));
  EXPECT_EQ(helper_argv("g", Step::checkpoint, 9, args), (Argv{"g", "__cuda-call", "checkpoint", "--pid", "9"}));
  EXPECT_EQ(helper_argv("g", Step::unlock, 9, args), (Argv{"g", "__cuda-call", "unlock", "--pid", "9"}));
}

TEST(HelperReply, StateAndSuccess) {
  auto r = parse_helper_reply(R"({"op":"get-state","pid":9,"result":0,"state":"locked"})" "\n", Step::get_state, 9);
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->ok());
  EXPECT_EQ(r->state, State::locked);
}

TEST(HelperReply, DriverErrorIsAReplyNotAnError) {
  auto r = parse_helper_reply(R"({"result":401,"error":"CUDA_ERROR_ILLEGAL_STATE"})", Step::lock, 9);
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->ok());
  EXPECT_EQ(r->code, 401);
  EXPECT_EQ(r->error, "CUDA_ERROR_ILLEGAL_STATE");
  EXPECT_FALSE(r->state);
}

TEST(HelperReply, TheLastLineIsTheReply) {
  // Anything a library prints before the reply is ignored.
  auto r = parse_helper_reply("libcuda: some warning\n{\"result\":0,\"tid\":1234}\n", Step::restore_tid, 9);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->tid, 1234);
}

TEST(HelperReply, NoReplyIsAnInternalErrorNamingThePid) {
  for (const char* out : {"", "Segmentation fault", "{\"pid\":9}", "[1,2]"}) {
    auto r = parse_helper_reply(out, Step::checkpoint, 9);
    ASSERT_FALSE(r) << out;
    EXPECT_EQ(r.error().exit, Exit::internal);
    EXPECT_NE(r.error().what.find("CUDA checkpoint helper for pid 9 printed no reply"), std::string::npos);
  }
}

TEST(HelperReply, LibcudaThatDoesNotLoadIsAMissingDependency) {
  auto r = parse_helper_reply(R"({"result":-1,"error":"cannot load libcuda.so.1: not found","load_error":true})",
                              Step::lock, 9);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().exit, Exit::missing_dependency);
  EXPECT_EQ(r.error().what, "cannot load libcuda.so.1: not found");
  EXPECT_NE(r.error().hint.find("--cuda-backend tool"), std::string::npos);
}
