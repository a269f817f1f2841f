// recovery/journal: JSON round trip, refusals, files in RUN_DIR/ops.
#include "recovery/journal.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <unistd.h>

using namespace gpucr;
using namespace gpucr::recovery;

namespace {

JournalData sample() {
  JournalData d;
  d.id = "checkpoint-1-abc";
  d.op = "checkpoint";
  d.created_ms = 1700000000123;
  d.owner = {100, 5555};
  d.guardian = proc::ProcessId{101, 5556};
  d.phase = "gpu checkpoint";
  d.cancel = true;
  d.criu = proc::ProcessId{102, 5557};
  d.restore_pidfile = "/w/restore.pid";
  d.backend = "tool";
  d.tool = "/usr/bin/cuda-checkpoint";
  d.device_map = "GPU-a=GPU-b";
  d.processes = {{{200, 7000}, {200, 1}, cuda::State::locked, 4ull << 30},
                 {{0, 0}, {201, 2}, cuda::State::running, 0}};
  d.freezer = {{"path", "/sys/fs/cgroup/x"}, {"state", "FROZEN"}};
  d.container = JournalContainer{"c1", "/usr/sbin/runc", {"--root", "/run/r"}};
  return d;
}

// A fresh run directory, removed afterwards.
class JournalFiles : public ::testing::Test {
 protected:
  static fs::path make_tmp() {
    char tmpl[] = "/tmp/gpucr-journal-test-XXXXXX";
    return ::mkdtemp(tmpl);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_ = make_tmp();
  gpucr::RunDir run{dir_ / "run", ::geteuid()};
};

}  // namespace

TEST(Journal, JsonRoundTripKeepsEveryField) {
  JournalData d = sample();
  auto back = journal_from_json(to_json(d), "x");
  ASSERT_TRUE(back) << back.error().what;
  EXPECT_EQ(back->id, d.id);
  EXPECT_EQ(back->op, d.op);
  EXPECT_EQ(back->created_ms, d.created_ms);
  EXPECT_EQ(back->owner, d.owner);
  EXPECT_EQ(back->guardian, d.guardian);
  EXPECT_EQ(back->phase, d.phase);
  EXPECT_TRUE(back->cancel);
  EXPECT_EQ(back->criu, d.criu);
  EXPECT_EQ(back->restore_pidfile, d.restore_pidfile);
  EXPECT_EQ(back->backend, d.backend);
  EXPECT_EQ(back->tool, d.tool);
  EXPECT_EQ(back->device_map, d.device_map);
  ASSERT_EQ(back->processes.size(), 2u);
  EXPECT_EQ(back->processes[0].id, (proc::ProcessId{200, 7000}));
  EXPECT_EQ(back->processes[0].nspid, (std::vector<pid_t>{200, 1}));
  EXPECT_EQ(back->processes[0].target, cuda::State::locked);
  EXPECT_EQ(back->processes[0].device_bytes, 4ull << 30);
  EXPECT_EQ(back->processes[1].id.pid, 0);
  EXPECT_EQ(back->freezer, d.freezer);
  ASSERT_TRUE(back->container);
  EXPECT_EQ(back->container->id, "c1");
  EXPECT_EQ(back->container->runtime, "/usr/sbin/runc");
  EXPECT_EQ(back->container->globals, (std::vector<std::string>{"--root", "/run/r"}));
  EXPECT_EQ(to_json(*back), to_json(d));
}

TEST(Journal, AProcessTreeJournalHasNoContainerAndOldJournalsReadWithout) {
  JournalData d = sample();
  d.container.reset();
  auto j = to_json(d);
  EXPECT_TRUE(j["container"].is_null());
  j.erase("container");  // written before the field existed
  auto back = journal_from_json(j, "x");
  ASSERT_TRUE(back) << back.error().what;
  EXPECT_FALSE(back->container);
}

TEST(Journal, AHeldThpWindowRoundTripsAndNoneIsNull) {
  JournalData d = sample();
  EXPECT_TRUE(to_json(d)["thp_window"].is_null());
  d.thp_window = "madvise";
  auto j = to_json(d);
  EXPECT_EQ(j["thp_window"], (nlohmann::json{{"original", "madvise"}}));
  auto back = journal_from_json(j, "x");
  ASSERT_TRUE(back) << back.error().what;
  EXPECT_EQ(back->thp_window, "madvise");
  j["thp_window"] = nlohmann::json::object();
  EXPECT_FALSE(journal_from_json(j, "x"));
  j["thp_window"] = 5;
  EXPECT_FALSE(journal_from_json(j, "x"));
  j.erase("thp_window");  // written before the field existed
  back = journal_from_json(j, "x");
  ASSERT_TRUE(back);
  EXPECT_EQ(back->thp_window, "");
}

TEST(Journal, AbsentGuardianAndCriuStayAbsent) {
  JournalData d = sample();
  d.guardian.reset();
  d.criu.reset();
  auto back = journal_from_json(to_json(d), "x");
  ASSERT_TRUE(back);
  EXPECT_FALSE(back->guardian);
  EXPECT_FALSE(back->criu);
}

TEST(Journal, NewerVersionsAndBrokenDocumentsAreRefusedWithTheirName) {
  auto j = to_json(sample());
  j["version"] = 2;
  auto r = journal_from_json(j, "/run/gpucr/ops/x.json");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().exit, Exit::bad_input);
  EXPECT_EQ(r.error().what, "journal /run/gpucr/ops/x.json is unreadable: unsupported version 2");
  j = to_json(sample());
  j["processes"][0]["target"] = "dancing";
  r = journal_from_json(j, "x");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().what, "journal x is unreadable: process 200 has no valid target state");
  j = to_json(sample());
  j.erase("owner");
  EXPECT_FALSE(journal_from_json(j, "x"));
  EXPECT_FALSE(journal_from_json(nlohmann::json::array(), "x"));
}

// Found by fuzzing (docs/FUZZING.md): numbers are read exactly, never cast; a version that is not
// the number 1 is refused like any other, never an internal error.
TEST(Journal, FloatsStringsAndOutOfRangeNumbersAreRefusedNotCast) {
  auto refused = [](nlohmann::json j, const std::string& why) {
    auto r = journal_from_json(j, "x");
    ASSERT_FALSE(r) << j.dump();
    EXPECT_EQ(r.error().exit, Exit::bad_input);
    EXPECT_NE(r.error().what.find(why), std::string::npos) << r.error().what;
  };
  auto j = to_json(sample());
  j["processes"][0]["pid"] = 4.2e63;
  refused(j, "\"pid\" is not an integer");
  j = to_json(sample());
  j["owner"]["pid"] = std::int64_t{1} << 40;
  refused(j, "\"pid\" is out of range");
  j = to_json(sample());
  j["processes"][0]["device_bytes"] = -1;
  refused(j, "\"device_bytes\" is out of range");
  j = to_json(sample());
  j["restore_pids"] = {1, 2.5};
  refused(j, "an entry of \"restore_pids\" is not an integer");
  for (nlohmann::json v : {nlohmann::json("1"), nlohmann::json(nullptr), nlohmann::json(1.0)}) {
    j = to_json(sample());
    j["version"] = v;
    refused(j, "unsupported version");
  }
}

TEST_F(JournalFiles, CreateSaveLoadListFinish) {
  proc::ProcFs procs;
  auto j = Journal::create(run, "restore");
  ASSERT_TRUE(j) << j.error().what;
  EXPECT_EQ(j->path().parent_path(), run.ops());
  EXPECT_EQ(j->data().owner.pid, ::getpid());
  EXPECT_TRUE(procs.alive(j->data().owner));
  j->data().phase = "gpu restore";
  j->data().processes = sample().processes;
  ASSERT_TRUE(j->save());
  EXPECT_EQ(list_journals(run), std::vector<fs::path>{j->path()});
  auto loaded = load_journal(j->path());
  ASSERT_TRUE(loaded);
  EXPECT_EQ(loaded->op, "restore");
  EXPECT_EQ(loaded->phase, "gpu restore");
  EXPECT_EQ(loaded->processes.size(), 2u);
  EXPECT_EQ(fs::status(run.ops()).permissions() & fs::perms::all, fs::perms::owner_all);
  j->finish();
  EXPECT_TRUE(list_journals(run).empty());
}

TEST_F(JournalFiles, LoadNamesAFileThatIsNotJson) {
  fs::create_directories(run.ops());
  std::string bad = (run.ops() / "bad.json").string();
  ASSERT_TRUE(write_file_atomic(bad, "{not json", 0600));
  auto r = load_journal(bad);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().what, "journal " + bad + " is not valid JSON");
}
