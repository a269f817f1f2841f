// core/target: validating the root of a tree before anything changes, and recording the tree.
#include "core/tree.hpp"

#include "fakes.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <unistd.h>

using namespace gpucr;
using namespace gpucr::fakes;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(CoreTarget, LiveProcessIsValid) {
  FakeProcessTable t;
  t.add(4100, 1, "w");
  auto r = validate_root(t, 4100);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->comm, "w");
}

TEST(CoreTarget, MissingProcessIsBadInputWithAHint) {
  FakeProcessTable t;
  auto r = validate_root(t, 4100);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().exit, Exit::bad_input);
  EXPECT_THAT(r.error().what, HasSubstr("cannot checkpoint pid 4100: no such process"));
  EXPECT_THAT(r.error().hint, HasSubstr("ps -p 4100"));
}

TEST(CoreTarget, ZombieNonPositivePidAndInitAreRefused) {
  FakeProcessTable t;
  t.add(1, 0, "init");
  t.add(4100, 1, "w");
  t.make_zombie(4100);
  EXPECT_THAT(validate_root(t, 4100).error().what, HasSubstr("it has exited (zombie)"));
  EXPECT_THAT(validate_root(t, 1).error().what, HasSubstr("refusing to checkpoint pid 1 (init)"));
  EXPECT_THAT(validate_root(t, 0).error().what, HasSubstr("invalid pid 0"));
  EXPECT_EQ(validate_root(t, -5).error().exit, Exit::bad_input);
}

TEST(CoreTarget, GpucrAndItsAncestorsAreRefused) {
  FakeProcessTable t;
  t.add(1, 0, "init");
  t.add(700, 1, "shell");
  t.add(::getpid(), 700, "gpucr");
  auto self = validate_root(t, ::getpid());
  ASSERT_FALSE(self);
  EXPECT_THAT(self.error().what, HasSubstr("it is gpucr or an ancestor of gpucr"));
  auto parent = validate_root(t, 700);
  ASSERT_FALSE(parent);
  EXPECT_EQ(parent.error().exit, Exit::bad_input);
  EXPECT_THAT(parent.error().hint, HasSubstr("outside the process tree"));
}

TEST(CoreTarget, RecordProcessesKeepsEveryField) {
  FakeProcessTable t;
  t.add(4100, 1, "root").info.threads = 2;
  t.add(4101, 4100, "kid").info.nspid = {4101, 3};
  auto tree = discover_tree(t, 4100);
  ASSERT_TRUE(tree);
  google::protobuf::RepeatedPtrField<pb::Process> out;
  record_processes(*tree, &out);
  ASSERT_EQ(out.size(), 2);
  EXPECT_EQ(out[0].pid(), 4100);
  EXPECT_EQ(out[0].threads(), 2);
  EXPECT_EQ(out[0].start_time(), 104100u);
  EXPECT_EQ(out[1].ppid(), 4100);
  EXPECT_EQ(out[1].comm(), "kid");
  EXPECT_EQ(out[1].sid(), 4100);
  EXPECT_THAT(out[1].nspid(), ElementsAre(4101, 3));
}
