// freezer::Keeper and the record-only recovery path, against FakeFreezer.
#include "fake_freezer.hpp"
#include "freezer/keeper.hpp"

#include <gtest/gtest.h>

using namespace gpucr;
using namespace gpucr::freezer;
using gpucr::fakes::FakeFreezer;

namespace {

constexpr std::chrono::milliseconds kT{100};

TEST(Keeper, CaptureRecordsTheFrozenStateAndChangesNothing) {
  FakeFreezer fz;
  fz.place(10, "/cg/ctr", State::frozen);
  Keeper k(fz, kT);
  ASSERT_TRUE(k.capture(10).ok());
  ASSERT_TRUE(k.has_cgroup());
  EXPECT_TRUE(k.was_frozen());
  EXPECT_EQ(k.record().dir(), "/cg/ctr");
  EXPECT_EQ(k.record().version(), pb::FreezerRecord::CGROUP_V2);
  EXPECT_EQ(k.record().pid(), 10);
  EXPECT_TRUE(fz.calls.empty());
}

TEST(Keeper, FreezingIsRecordedAsFrozen) {
  FakeFreezer fz;
  fz.place(10, "/cg/ctr", State::freezing);
  Keeper k(fz, kT);
  ASSERT_TRUE(k.capture(10).ok());
  EXPECT_EQ(k.record().original_state(), pb::FreezerRecord::FROZEN);
  EXPECT_TRUE(k.record().freezing());
}

TEST(Keeper, NamedCgroupIsUsedInsteadOfTheDiscoveredOne) {
  FakeFreezer fz;
  fz.place(10, "/cg/ctr/inner", State::thawed);
  fz.states["/cg/ctr"] = State::frozen;
  Keeper k(fz, kT);
  ASSERT_TRUE(k.capture(10, fs::path("/cg/ctr")).ok());
  EXPECT_EQ(k.record().dir(), "/cg/ctr");
  EXPECT_TRUE(k.was_frozen());
}

TEST(Keeper, TreeWithoutGpuWorkIsNeverThawedAndRestoreIsANoop) {
  FakeFreezer fz;
  fz.place(10, "/cg/ctr", State::frozen);
  Keeper k(fz, kT);
  ASSERT_TRUE(k.capture(10).ok());
  ASSERT_TRUE(k.restore_original_state().ok());
  EXPECT_TRUE(fz.calls.empty());
  EXPECT_EQ(fz.states["/cg/ctr"], State::frozen);
}

TEST(Keeper, ThawForGpuPersistsTheRecordBeforeThawingAndRestoreFreezesAgain) {
  FakeFreezer fz;
  fz.place(10, "/cg/ctr", State::frozen);
  Keeper k(fz, kT);
  std::vector<pb::FreezerRecord> persisted;
  std::vector<State> state_when_persisted;
  k.on_change([&](const pb::FreezerRecord& r) {
    persisted.push_back(r);
    state_when_persisted.push_back(fz.states["/cg/ctr"]);
    return Status{};
  });
  ASSERT_TRUE(k.capture(10).ok());
  ASSERT_TRUE(k.thaw_for_gpu({10}).ok());
  ASSERT_EQ(persisted.size(), 1u);
  EXPECT_TRUE(persisted[0].thawed_by_gpucr());
  EXPECT_EQ(state_when_persisted[0], State::frozen);  // persisted before the change
  EXPECT_EQ(fz.states["/cg/ctr"], State::thawed);
  EXPECT_TRUE(k.thawed_by_gpucr());

  ASSERT_TRUE(k.restore_original_state().ok());
  ASSERT_TRUE(k.restore_original_state().ok());  // idempotent
  EXPECT_EQ(fz.calls, (std::vector<std::string>{"thaw /cg/ctr", "freeze /cg/ctr"}));
  EXPECT_EQ(fz.states["/cg/ctr"], State::frozen);
}

TEST(Keeper, ThawedCgroupIsNotTouchedForGpuWork) {
  FakeFreezer fz;
  fz.place(10, "/cg/ctr", State::thawed);
  Keeper k(fz, kT);
  ASSERT_TRUE(k.capture(10).ok());
  ASSERT_TRUE(k.thaw_for_gpu({10}).ok());
  EXPECT_FALSE(k.thawed_by_gpucr());
  EXPECT_TRUE(fz.calls.empty());
}

TEST(Keeper, ThawOfANamedCgroupIsUndoneByRestore) {
  FakeFreezer fz;
  fz.states["/cg/ctr"] = State::frozen;
  Keeper k(fz, kT);
  ASSERT_TRUE(k.capture(0, fs::path("/cg/ctr")).ok());
  ASSERT_TRUE(k.thaw().ok());
  ASSERT_TRUE(k.thaw().ok());  // once only
  EXPECT_TRUE(k.thawed_by_gpucr());
  ASSERT_TRUE(k.restore_original_state().ok());
  EXPECT_EQ(fz.calls, (std::vector<std::string>{"thaw /cg/ctr", "freeze /cg/ctr"}));
}

TEST(Keeper, FailingPersistCancelsTheThaw) {
  FakeFreezer fz;
  fz.place(10, "/cg/ctr", State::frozen);
  Keeper k(fz, kT);
  k.on_change([](const pb::FreezerRecord&) { return Status(fail(Error("journal full"))); });
  ASSERT_TRUE(k.capture(10).ok());
  auto st = k.thaw_for_gpu({10});
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().what, "thawing the tree's cgroup for the GPU steps: journal full");
  EXPECT_TRUE(fz.calls.empty());
  EXPECT_FALSE(k.thawed_by_gpucr());
}

TEST(Keeper, GpuProcessStillFrozenInAnotherCgroupIsRefused) {
  FakeFreezer fz;
  fz.place(10, "/cg/ctr", State::frozen);
  fz.place(11, "/cg/elsewhere", State::frozen);
  Keeper k(fz, kT);
  ASSERT_TRUE(k.capture(10).ok());
  auto st = k.thaw_for_gpu({10, 11});
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().what.find("GPU process 11 is still frozen"), std::string::npos) << st.error().what;
}

TEST(Keeper, CheckTreeRejectsAProcessInAnotherFrozenCgroupButNotInADescendant) {
  FakeFreezer fz;
  fz.place(10, "/cg/ctr", State::frozen);
  fz.place(11, "/cg/ctr/sub", State::frozen);
  fz.place(12, "/cg/other", State::thawed);
  Keeper k(fz, kT);
  ASSERT_TRUE(k.capture(10).ok());
  EXPECT_TRUE(k.check_tree({10, 11, 12}).ok());
  fz.states["/cg/other"] = State::frozen;
  auto st = k.check_tree({10, 11, 12});
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().exit, Exit::bad_input);
  EXPECT_NE(st.error().what.find("pid 12"), std::string::npos) << st.error().what;
}

TEST(Keeper, RootCgroupPidHasNoCgroupAndNothingToRestore) {
  FakeFreezer fz;
  fz.lookups[10] = Lookup{std::nullopt, "pid 10 is in the root cgroup"};
  Keeper k(fz, kT);
  ASSERT_TRUE(k.capture(10).ok());
  EXPECT_FALSE(k.has_cgroup());
  EXPECT_EQ(k.none_reason(), "pid 10 is in the root cgroup");
  EXPECT_TRUE(k.thaw_for_gpu({}).ok());
  EXPECT_TRUE(k.restore_original_state().ok());
  EXPECT_TRUE(fz.calls.empty());
}

TEST(RestoreOriginalState, ThawsACgroupLeftFrozenWhenItWasThawed) {
  FakeFreezer fz;
  Cgroup cg = fz.place(10, "/cg/ctr", State::thawed);
  auto rec = to_record(cg, State::thawed, 10);
  rec.set_criu_freezes(true);
  fz.states["/cg/ctr"] = State::frozen;  // e.g. a criu killed while it held the cgroup frozen
  ASSERT_TRUE(restore_original_state(fz, rec, kT).ok());
  EXPECT_EQ(fz.states["/cg/ctr"], State::thawed);
}

TEST(RestoreOriginalState, AFreezeNeitherGpucrNorItsCriuMadeIsLeftAlone) {
  FakeFreezer fz;
  Cgroup cg = fz.place(10, "/cg/ctr", State::thawed);
  auto rec = to_record(cg, State::thawed, 10);
  fz.states["/cg/ctr"] = State::frozen;  // an engine paused the container meanwhile
  ASSERT_TRUE(restore_original_state(fz, rec, kT).ok());
  EXPECT_EQ(fz.states["/cg/ctr"], State::frozen);
  EXPECT_TRUE(fz.calls.empty());
}

TEST(RestoreOriginalState, WorksFromASerializedRecordAlone) {
  FakeFreezer fz;
  Cgroup cg = fz.place(10, "/cg/ctr", State::frozen);
  pb::FreezerRecord parsed;
  ASSERT_TRUE(parsed.ParseFromString(to_record(cg, State::frozen, 10).SerializeAsString()));
  fz.states["/cg/ctr"] = State::thawed;  // gpucr died after thawing for GPU work
  ASSERT_TRUE(restore_original_state(fz, parsed, kT).ok());
  EXPECT_EQ(fz.calls, (std::vector<std::string>{"freeze /cg/ctr"}));
}

TEST(RestoreOriginalState, VanishedCgroupIsLeftAlone) {
  FakeFreezer fz;
  Cgroup cg = fz.place(10, "/cg/ctr", State::frozen);
  fz.gone.insert("/cg/ctr");
  fz.states.erase("/cg/ctr");
  EXPECT_TRUE(restore_original_state(fz, to_record(cg, State::frozen, 10), kT).ok());
  EXPECT_TRUE(fz.calls.empty());
}

TEST(RestoreOriginalState, FailureIsRollbackIncompleteAndSaysHowToFinish) {
  FakeFreezer fz;
  Cgroup cg = fz.place(10, "/cg/ctr", State::frozen, Version::v1);
  fz.fail_thaw = true;
  auto rec = to_record(cg, State::thawed, 10);
  rec.set_thawed_by_gpucr(true);
  auto st = restore_original_state(fz, rec, kT);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().exit, Exit::rollback_incomplete);
  EXPECT_NE(st.error().what.find("original state THAWED"), std::string::npos) << st.error().what;
  EXPECT_EQ(st.error().hint, "set it by hand: echo THAWED > /cg/ctr/freezer.state");
}

TEST(RestoreOriginalState, StillFreezingAfterTheTimeoutCountsAsFrozen) {
  FakeFreezer fz;
  Cgroup cg = fz.place(10, "/cg/ctr", State::thawed);
  fz.freeze_sticks_in_freezing = true;
  EXPECT_TRUE(restore_original_state(fz, to_record(cg, State::frozen, 10), kT).ok());
  EXPECT_EQ(fz.states["/cg/ctr"], State::freezing);
}

TEST(RefreezeRestored, FreezesOnlyWhatWasFrozenAtCheckpoint) {
  FakeFreezer fz;
  Cgroup old_cg{Version::v2, "/old", "/cg/old"};
  fz.place(20, "/cg/new", State::thawed);  // the restored root's cgroup now
  EXPECT_FALSE(*refreeze_restored(fz, 20, to_record(old_cg, State::thawed, 10), kT));
  EXPECT_TRUE(fz.calls.empty());
  EXPECT_TRUE(*refreeze_restored(fz, 20, to_record(old_cg, State::frozen, 10), kT));
  EXPECT_EQ(fz.calls, (std::vector<std::string>{"freeze /cg/new"}));
  fz.lookups[21] = Lookup{std::nullopt, "pid 21 is in the root cgroup"};
  auto r = refreeze_restored(fz, 21, to_record(old_cg, State::frozen, 10), kT);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().what.find("pid 21 is in the root cgroup"), std::string::npos);
}

}  // namespace
