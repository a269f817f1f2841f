// The checkpoint driver behind `gpucr checkpoint` (process trees and containers) and the runtime
// wrapper's `checkpoint`: one list of named phases (core/checkpoint.cpp) over a target
// (core/target.hpp) that says how the tree is found, locked and dumped.
#pragma once

#include "core/host.hpp"
#include "core/phases.hpp"
#include "core/request.hpp"
#include "manifest.pb.h"

#include <optional>

namespace gpucr {

struct CheckpointReport {
  Status status;                     // ok, or the first failure (cleanup failures in details)
  std::vector<PhaseTiming> phases;
  pb::Manifest manifest;             // complete on success
  fs::path image_dir;
  fs::path work_dir;
  fs::path criu_log;
  std::uint64_t image_bytes = 0;
  std::vector<std::string> cuda_report;   // one line per CUDA process: what happened to it
  std::vector<std::string> criu_plugins;  // the CRIU plugins criu ran with (for the inventory)
  std::optional<ExitStatus> runtime_exit; // containers: set once the runtime's checkpoint ran
};

CheckpointReport checkpoint(const CheckpointRequest& req, Host& host);

// Phase-timing records for the manifest.
void record_phases(const std::vector<PhaseTiming>& phases,
                   google::protobuf::RepeatedPtrField<pb::Phase>* out);

}  // namespace gpucr
