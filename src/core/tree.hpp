// The process tree a checkpoint operates on, validated before anything changes.
#pragma once

#include "common/op_lock.hpp"
#include "common/run_dir.hpp"
#include "proc/process_table.hpp"

#include <chrono>
#include "manifest.pb.h"

#include <vector>

namespace gpucr {

// The root process of a tree to checkpoint: it must exist, not be a zombie, a kernel thread or
// pid 1, and not be gpucr itself or one of its ancestors (criu would freeze gpucr).
Result<proc::ProcInfo> validate_root(const proc::ProcessTable& procs, pid_t pid);

// One gpucr operation per process tree at a time: RUN_DIR/locks/tree-PID-START.lock, keyed by
// the root's identity (a recycled pid is another tree), an OpLock (common/op_lock.hpp). A second
// operation waits up to `wait`, then fails naming the holder.
Result<OpLock> lock_tree(const RunDir& run, const proc::ProcessId& root, const std::string& operation,
                         std::chrono::milliseconds wait);

// The tree below `root` as manifest records.
Result<std::vector<proc::ProcInfo>> discover_tree(const proc::ProcessTable& procs, pid_t root);
void record_processes(const std::vector<proc::ProcInfo>& tree,
                      google::protobuf::RepeatedPtrField<pb::Process>* out);

}  // namespace gpucr
