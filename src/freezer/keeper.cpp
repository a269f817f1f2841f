#include "freezer/keeper.hpp"

#include "util/log.hpp"
#include "util/strings.hpp"

#include <algorithm>

namespace gpucr::freezer {

pb::FreezerRecord to_record(const Cgroup& cg, State original, pid_t pid) {
  pb::FreezerRecord r;
  r.set_cgroup(cg.path);
  r.set_dir(cg.dir.string());
  r.set_version(cg.version == Version::v1 ? pb::FreezerRecord::CGROUP_V1 : pb::FreezerRecord::CGROUP_V2);
  r.set_original_state(counts_as_frozen(original) ? pb::FreezerRecord::FROZEN : pb::FreezerRecord::THAWED);
  r.set_freezing(original == State::freezing);
  r.set_pid(pid);
  return r;
}

Cgroup from_record(const pb::FreezerRecord& rec) {
  return Cgroup{rec.version() == pb::FreezerRecord::CGROUP_V2 ? Version::v2 : Version::v1, rec.cgroup(), rec.dir()};
}

Status Keeper::capture(pid_t pid, const std::optional<fs::path>& dir) {
  rec_.Clear();
  cgroup_.reset();
  none_reason_.clear();
  Cgroup cg;
  if (dir) {
    cg = GPUCR_TRY(fz_.at(*dir));
  } else {
    Lookup l = GPUCR_TRY(fz_.find(pid));
    if (!l.cgroup) {
      none_reason_ = l.none_reason;
      log::info(none_reason_);
      return {};
    }
    cg = *l.cgroup;
  }
  State s = GPUCR_TRY(fz_.state(cg));
  rec_ = to_record(cg, s, pid);
  cgroup_ = cg;
  log::info("freezer: pid " + std::to_string(pid) + " is in " + cg.describe() + ", " + to_string(s));
  return {};
}

static bool is_under(const fs::path& p, const fs::path& dir) {
  auto [d, _] = std::mismatch(dir.begin(), dir.end(), p.begin(), p.end());
  return d == dir.end();
}

Status Keeper::check_tree(const std::vector<pid_t>& pids) const {
  for (pid_t pid : pids) {
    auto l = fz_.find(pid);
    if (!l || !l->cgroup) continue;  // gone meanwhile (criu will say), or in no freezer cgroup
    const Cgroup& cg = *l->cgroup;
    if (cgroup_ && is_under(cg.dir, cgroup_->dir)) continue;
    auto s = fz_.state(cg);
    if (!s || !counts_as_frozen(*s)) continue;
    return fail(Error("pid " + std::to_string(pid) + " of the tree is in the frozen " + cg.describe() +
                          ", but the tree's root is " +
                          (cgroup_ ? "in " + cgroup_->describe() : std::string("in no freezer cgroup")),
                      Exit::bad_input)
                    .with_hint("gpucr keeps the state of one freezer cgroup per tree: thaw " + cg.dir.string() +
                               " first, or name a cgroup that holds the whole tree with --freeze-cgroup"));
  }
  return {};
}

Status Keeper::thaw() {
  if (!cgroup_ || !was_frozen() || rec_.thawed_by_gpucr()) return {};
  pb::FreezerRecord next = rec_;
  next.set_thawed_by_gpucr(true);
  if (persist_) GPUCR_TRY(persist_(next));
  rec_ = next;  // from here on restore_original_state freezes it again, whatever happens
  log::info("freezer: thawing " + cgroup_->describe());
  return fz_.thaw(*cgroup_, timeout_);
}

Status Keeper::thaw_for_gpu(const std::vector<pid_t>& gpu_pids) {
  if (auto st = thaw(); !st) return fail(std::move(st).error().context("thawing the tree's cgroup for the GPU steps"));
  for (pid_t pid : gpu_pids) {
    auto l = GPUCR_TRY(fz_.find(pid));
    if (!l.cgroup) continue;
    State s = GPUCR_TRY(fz_.state(*l.cgroup));
    if (counts_as_frozen(s)) {
      return fail(Error("GPU process " + std::to_string(pid) + " is still frozen (" + l.cgroup->describe() + " is " +
                        to_string(s) + ")")
                      .with_hint("gpucr never calls the GPU driver for a frozen process (the call would hang); "
                                 "thaw that cgroup first"));
    }
  }
  return {};
}

Status Keeper::note_criu_freezes() {
  if (!cgroup_ || rec_.criu_freezes()) return {};
  pb::FreezerRecord next = rec_;
  next.set_criu_freezes(true);
  if (persist_) GPUCR_TRY(persist_(next));
  rec_ = next;
  return {};
}

Status Keeper::restore_original_state() {
  if (!cgroup_) return {};
  return freezer::restore_original_state(fz_, rec_, timeout_);
}

Status restore_original_state(Freezer& fz, const pb::FreezerRecord& rec, std::chrono::milliseconds timeout) {
  if (rec.dir().empty() || rec.original_state() == pb::FreezerRecord::STATE_UNKNOWN) return {};
  Cgroup cg = from_record(rec);
  if (!fz.exists(cg)) {
    log::info("freezer: " + cg.describe() + " no longer exists; nothing to restore");
    return {};
  }
  bool want_frozen = rec.original_state() == pb::FreezerRecord::FROZEN;
  const char* want = want_frozen ? "FROZEN" : "THAWED";
  auto rollback = [&](Error e) {
    std::string file = cg.version == Version::v1 ? "freezer.state" : "cgroup.freeze";
    std::string value = cg.version == Version::v1 ? want : (want_frozen ? "1" : "0");
    return fail(std::move(e)
                    .context("cannot return " + cg.describe() + " to its original state " + want)
                    .with_exit(Exit::rollback_incomplete)
                    .with_hint("set it by hand: echo " + value + " > " + (cg.dir / file).string()));
  };
  auto now = fz.state(cg);
  if (!now) return rollback(std::move(now).error());
  if (counts_as_frozen(*now) == want_frozen) return {};
  if (!want_frozen && !rec.thawed_by_gpucr() && !rec.criu_freezes()) {
    log::warn("freezer: " + cg.describe() + " was THAWED when the operation began and is " + to_string(*now) +
              " now; neither gpucr nor its criu froze it, so someone else did: left as it is");
    return {};
  }
  log::info(std::string("freezer: returning ") + cg.describe() + " from " + to_string(*now) + " to " + want);
  Status st = want_frozen ? fz.freeze(cg, timeout) : fz.thaw(cg, timeout);
  if (st) return {};
  if (want_frozen) {  // still FREEZING counts as frozen: the kernel finishes it on its own
    if (auto again = fz.state(cg); again && counts_as_frozen(*again)) {
      log::warn("freezer: " + cg.describe() + " is " + to_string(*again) + " (counts as frozen): " + st.error().what);
      return {};
    }
  }
  return rollback(std::move(st).error());
}

Result<bool> refreeze_restored(Freezer& fz, pid_t root, const pb::FreezerRecord& rec, std::chrono::milliseconds timeout) {
  if (rec.original_state() != pb::FreezerRecord::FROZEN) return false;
  Lookup l = GPUCR_TRY(fz.find(root));
  if (!l.cgroup) {
    return fail(Error("cannot freeze the restored tree again (it was frozen at checkpoint): " + l.none_reason)
                    .with_hint("the tree was restored and runs; restore it into a cgroup (criu --manage-cgroups, "
                               "or a container) to get the frozen state back"));
  }
  GPUCR_TRY(fz.freeze(*l.cgroup, timeout));
  log::info("freezer: froze " + l.cgroup->describe() + " again, as it was at checkpoint");
  return true;
}

}  // namespace gpucr::freezer
