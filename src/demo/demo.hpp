// `gpucr demo`: checkpoint, kill, restore and verify the built-in workload, with phase timings.
#pragma once

#include "core/checkpoint.hpp"
#include "core/restore.hpp"
#include "common/self_exec.hpp"
#include "demo/workload.hpp"

namespace gpucr::demo {

struct DemoOptions {
  std::filesystem::path self_exe = self::kExe;        // the binary that runs __demo-workload
  std::optional<std::filesystem::path> image_dir;     // default: a temporary directory
  unsigned mib = 256;
  unsigned gpu_mib = 0;                               // > 0: the workload uses GPU 0
  CudaOptions cuda;
};

struct DemoReport {
  Status status;
  pid_t original_pid = 0;
  pid_t restored_pid = 0;
  WorkloadStatus at_checkpoint;   // last status written before the dump
  WorkloadStatus after_restore;   // status once the restored tree has made progress
  bool gpu = false;
  CheckpointReport checkpoint;
  RestoreReport restore;
  std::chrono::nanoseconds downtime{};  // checkpoint start to restored tree running
};

DemoReport run_demo(const DemoOptions& opts, Host& host);

}  // namespace gpucr::demo
