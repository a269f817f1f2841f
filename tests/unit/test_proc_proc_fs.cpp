// proc: parsing /proc/PID/stat and status, the tree walk, NSpid mapping, and ProcFs on this
// test process itself.
#include "proc/process_table.hpp"

#include "fakes.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <unistd.h>

using namespace gpucr;
using namespace gpucr::fakes;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

namespace {
// A stat line with 52 fields as Linux 6.x writes it; comm in parentheses.
std::string stat_line(pid_t pid, const std::string& comm, char state, pid_t ppid, pid_t pgrp, pid_t sid,
                      int threads, unsigned long long start) {
  return std::to_string(pid) + " (" + comm + ") " + state + " " + std::to_string(ppid) + " " +
         std::to_string(pgrp) + " " + std::to_string(sid) +
         " 34816 12345 4194560 100 0 0 0 1 2 0 0 20 0 " + std::to_string(threads) + " 0 " + std::to_string(start) +
         " 2785280 224 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0 0 0 0 0 0 0 0 0\n";
}
}  // namespace

TEST(ProcParse, StatFields) {
  proc::ProcInfo pi;
  ASSERT_TRUE(proc::parse_stat(stat_line(4100, "tree_workload", 'S', 1, 4100, 4100, 2, 987654), pi));
  EXPECT_EQ(pi.comm, "tree_workload");
  EXPECT_EQ(pi.state, 'S');
  EXPECT_EQ(pi.ppid, 1);
  EXPECT_EQ(pi.pgid, 4100);
  EXPECT_EQ(pi.sid, 4100);
  EXPECT_EQ(pi.threads, 2);
  EXPECT_EQ(pi.start_time, 987654u);
}

TEST(ProcParse, StatCommWithSpacesAndParentheses) {
  proc::ProcInfo pi;
  ASSERT_TRUE(proc::parse_stat(stat_line(7, "a) (b c) Z 9 9", 'R', 3, 5, 6, 4, 42), pi));
  EXPECT_EQ(pi.comm, "a) (b c) Z 9 9");
  EXPECT_EQ(pi.state, 'R');
  EXPECT_EQ(pi.ppid, 3);
  EXPECT_EQ(pi.pgid, 5);
  EXPECT_EQ(pi.sid, 6);
  EXPECT_EQ(pi.threads, 4);
  EXPECT_EQ(pi.start_time, 42u);
}

TEST(ProcParse, ZombieState) {
  proc::ProcInfo pi;
  ASSERT_TRUE(proc::parse_stat(stat_line(8, "x", 'Z', 3, 5, 6, 1, 1), pi));
  EXPECT_EQ(pi.state, 'Z');
}

TEST(ProcParse, MalformedStatIsAnError) {
  proc::ProcInfo pi;
  EXPECT_FALSE(proc::parse_stat("", pi));
  EXPECT_FALSE(proc::parse_stat("12 noparens S 1", pi));
  EXPECT_FALSE(proc::parse_stat("12 (x) S 1 2 3", pi));  // too short
}

TEST(ProcParse, StatusNSpidChain) {
  proc::ProcInfo pi;
  pi.pid = 18826;
  ASSERT_TRUE(proc::parse_status("Name:\tsh\nNSpid:\t18826\t7\t1\nNSpgid:\t18826\t7\t1\n", pi));
  EXPECT_THAT(pi.nspid, ElementsAre(18826, 7, 1));
}

TEST(ProcParse, StatusWithoutNSpidFallsBackToThePid) {
  proc::ProcInfo pi;
  pi.pid = 55;
  ASSERT_TRUE(proc::parse_status("Name:\tsh\nPid:\t55\n", pi));
  EXPECT_THAT(pi.nspid, ElementsAre(55));
}

TEST(ProcFs, ReadsThisProcess) {
  proc::ProcFs procs;
  auto pi = procs.info(::getpid());
  ASSERT_TRUE(pi) << pi.error().what;
  EXPECT_EQ(pi->pid, ::getpid());
  EXPECT_EQ(pi->ppid, ::getppid());
  EXPECT_EQ(pi->nspid.back(), ::getpid());
  EXPECT_TRUE(procs.alive({::getpid(), pi->start_time}));
  EXPECT_FALSE(procs.alive({::getpid(), pi->start_time + 1}));  // a recycled pid is someone else
  auto fds = procs.fds(::getpid());
  ASSERT_TRUE(fds);
  EXPECT_FALSE(fds->empty());
  auto maps = procs.mapped_files(::getpid());
  ASSERT_TRUE(maps);
  EXPECT_FALSE(maps->empty());
  EXPECT_TRUE(procs.pid_namespace(::getpid()));
  EXPECT_TRUE(procs.cgroup(::getpid()));
}

TEST(ProcFs, MissingProcessIsBadInput) {
  proc::ProcFs procs;
  auto pi = procs.info(999999999);
  ASSERT_FALSE(pi);
  EXPECT_EQ(pi.error().exit, Exit::bad_input);
  EXPECT_THAT(pi.error().what, HasSubstr("process 999999999 does not exist"));
}

TEST(ProcTree, RootFirstThenDepthFirstInPidOrder) {
  FakeProcessTable t;
  t.add(10, 1);
  t.add(12, 10);
  t.add(11, 10);
  t.add(13, 11);
  t.add(20, 1);  // not in the tree
  auto tree = proc::process_tree(t, 10);
  ASSERT_TRUE(tree);
  std::vector<pid_t> pids;
  for (const auto& p : *tree) pids.push_back(p.pid);
  EXPECT_THAT(pids, ElementsAre(10, 11, 13, 12));
}

TEST(ProcTree, MissingRootIsAnError) {
  FakeProcessTable t;
  EXPECT_FALSE(proc::process_tree(t, 10));
}

TEST(ProcTree, HostPidForNspidLooksInTheSameNamespace) {
  FakeProcessTable t;
  t.add(500, 1).info.nspid = {500, 1};
  t.at(500).pid_ns = "pid:[1]";
  t.add(501, 500).info.nspid = {501, 2};
  t.at(501).pid_ns = "pid:[1]";
  t.add(600, 1).info.nspid = {600, 2};  // pid 2 of another namespace
  t.at(600).pid_ns = "pid:[2]";
  auto p = proc::host_pid_for_nspid(t, 500, 2);
  ASSERT_TRUE(p) << p.error().what;
  EXPECT_EQ(*p, 501);
  EXPECT_FALSE(proc::host_pid_for_nspid(t, 500, 3));
}

TEST(ProcTable, AliveIsFalseForZombies) {
  FakeProcessTable t;
  t.add(10, 1);
  proc::ProcessId id{10, t.at(10).info.start_time};
  EXPECT_TRUE(t.alive(id));
  t.make_zombie(10);
  EXPECT_FALSE(t.alive(id));
  t.remove(10);
  EXPECT_FALSE(t.alive(id));
}
