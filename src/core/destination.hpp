// Can this host take a checkpoint? Judged from the manifest's requirements (core/requirements.hpp)
// before anything is extracted or started: `restore --import` judges before it writes a byte,
// a restore from a directory in its "check destination" phase, and `inspect` shows the verdict.
// Refused, each with its reason:
//   - a GPU model the CUDA processes used that this host lacks (or has fewer of, or only with
//     less memory than they used): missing_dependency;
//   - less MemAvailable than the page images take (plus, for an import onto tmpfs, the images
//     themselves): not_permitted;
//   - a criu older (major.minor) than the one that dumped: CRIU restores images of its own and
//     older versions: missing_dependency;
//   - a GPU handler the inventory's plugins field names that this host lacks: missing_dependency.
// Notes, not refusals: another NVIDIA driver version than at checkpoint.
// The GPU map (which GPU goes where) is planned separately: plan_manifest_gpus().
#pragma once

#include "core/gpu_allocation.hpp"
#include "core/host.hpp"
#include "gpu/cuda/device_map.hpp"
#include "manifest.pb.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace gpucr {

struct Destination {
  bool gpus_known = false;                     // GPUs and handlers were asked (else not judged)
  std::vector<cuda::GpuInfo> gpus;             // NVIDIA GPUs (asked only for images with CUDA state)
  std::optional<std::uint64_t> mem_available;  // bytes; nullopt: unknown
  std::optional<criu::Version> criu;           // the criu a restore would run; nullopt: unknown
  std::vector<std::string> missing_handlers;   // plugins-field names with no handler here, described
};

struct Verdict {
  std::vector<std::string> refusals;
  std::vector<std::string> notes;
  Exit exit = Exit::ok;  // of the first refusal
  bool ok() const { return refusals.empty(); }
  // Ok, or one error: the first refusal as its message, the others as details.
  Status status(const std::string& what) const;
};

// `staged_bytes`: more memory the restore takes than the page images (images extracted onto tmpfs).
Verdict judge_destination(const pb::Manifest& m, const Destination& here, std::uint64_t staged_bytes = 0);

// This host as a restore of `m` would use it (GPUs only when `m` has CUDA state). Without
// `gpus_and_handlers`, only memory and criu.
Result<Destination> probe_destination(const Host& host, const pb::Manifest& m, const fs::path& criu_plugin_dir,
                                      bool gpus_and_handlers = true);

// The restore driver's "check destination" phase: host memory and criu (its phases "check GPU
// handlers" and "plan GPU restore" judge the rest). None: a plain criu image, nothing to judge.
Status check_destination(const std::optional<pb::Manifest>& m, const Host& host);

// "4.1.1" -> {4, 1, 1}; nullopt when it does not parse.
std::optional<criu::Version> parse_criu_version(std::string_view text);

}  // namespace gpucr

namespace gpucr {

// The verdict and the GPU map a restore of `m` would use here (inspect, restore --import).
struct DestinationReport {
  Verdict verdict;
  bool cuda = false;                 // the image holds CUDA state (else no map is needed)
  std::optional<cuda::MapPlan> map;  // the map a restore with `device_map` would use
  std::optional<Error> map_error;    // why there is none
  std::optional<cuda::MapPlan> auto_map;  // without `device_map`, when a remap is needed: `auto`'s
};

// `device_map`: --device-map (or nullopt); `allocation`: the restored container's GPUs;
// `staged_bytes`: see judge_destination().
Result<DestinationReport> assess_destination(const pb::Manifest& m, const Host& host, const fs::path& criu_plugin_dir,
                                             const std::optional<std::string>& device_map,
                                             const std::optional<GpuAllocation>& allocation,
                                             std::uint64_t staged_bytes = 0);

nlohmann::json to_json(const DestinationReport& d);
std::string to_text(const DestinationReport& d);

}  // namespace gpucr
