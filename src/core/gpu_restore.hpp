// The GPU and recovery side of a restore (core/restore.cpp), whatever the target. Each method is
// the body of one phase; the driver calls them in this order:
//
//   check_handlers(inventory)   the inventory's plugins field (criu/plugins.hpp): every GPU
//                               handler the image needs is here, before anything is touched
//   plan(manifest)              CUDA backend, the GPUs the image needs, --device-map completed
//   arm_recovery(...)           journal + guardian: restored CUDA processes come back
//                               CHECKPOINTED; if gpucr dies the guardian restores and unlocks them
//   prepare_view(image dir)     when criu must not see a name gpucr handles ("Missing required
//                               plugin"): the hard-link view criu (or the runtime) restores from
//   restore_started(pid)        criu or the runtime that runs it was started
//   remove_view()               always, after the restore
//   find_restored(root)         each CUDA process's new host pid (NSpid, from the restored root)
//   restore(), unlock()         all CUDA processes in parallel, journaled
//   finish()                    always, last: journal removed, guardian released
#pragma once

#include "core/cuda_restore.hpp"
#include "recovery/guardian.hpp"
#include "recovery/journal.hpp"
#include "criu/image_view.hpp"
#include "criu/plugins.hpp"

#include <optional>

namespace gpucr {

class GpuRestore {
 public:
  GpuRestore(const CudaOptions& opts, Host& host, std::optional<std::string> device_map)
      : host_(host), cuda_(opts, host, std::move(device_map)) {}

  Status check_handlers(const criu::Inventory& inv, const fs::path& image_dir, const fs::path& criu_plugin_dir);
  const std::optional<criu::PluginPlan>& plugins() const { return plan_; }
  bool needs_view() const { return plan_ && plan_->needs_view; }

  Status plan(const std::optional<pb::Manifest>& manifest) { return cuda_.plan(manifest); }
  // Every restore. `restore_pidfile`: where criu writes the restored root's pid; `container`:
  // the restored container (recovery asks its runtime for its init pid).
  Status arm_recovery(const std::string& restore_pidfile, const std::optional<recovery::JournalContainer>& container);
  bool guarded() const { return journal_.has_value(); }
  recovery::Journal& journal() { return *journal_; }

  // `inventory` without the names gpucr handles itself, as criu must see it.
  Status prepare_view(const fs::path& image_dir, const criu::Inventory& inventory);
  const fs::path& view_dir() const { return view_.dir(); }  // empty when there is none
  Status remove_view();

  // criu (or the runtime) is about to restore `pids` (trees: the dumped pids); recovery may stop
  // it at `deadline_ms` (wall clock, ms since the epoch).
  void begin_restore(const std::string& phase, std::int64_t deadline_ms, const std::vector<pid_t>& pids);
  void restore_started(pid_t pid);
  // Each CUDA process's new host pid, then the ones the manifest did not name (journaled).
  Status find_restored(pid_t root);
  Status restore();
  Status unlock();
  Status verify() { return cuda_.verify(); }
  void finish();

  bool empty() const { return cuda_.empty(); }
  const CudaRestore& cuda() const { return cuda_; }

 private:
  Status journaled(const std::string& phase, const std::function<Status()>& fn);
  Host& host_;
  CudaRestore cuda_;
  std::optional<criu::PluginPlan> plan_;
  criu::ImageView view_;
  std::optional<recovery::Journal> journal_;
  recovery::Guardian guardian_;
};

}  // namespace gpucr
