// Which GPUs this host has: the seam the restore-time GPU check (prestart hook and
// `gpucr restore CONTAINER`) asks. Real: SysGpuPresence below (NVIDIA's /proc/driver/nvidia and
// /sys/dev); an NVML-based implementation can replace gpus() (CUDA issue). Fake: tests.
#pragma once

#include "util/result.hpp"

#include <filesystem>
#include <string>
#include <vector>

namespace gpucr::hooks {

struct HostGpu {
  std::string uuid;   // "GPU-8f0c..."
  std::string model;  // "NVIDIA H100 80GB HBM3"
  int minor = -1;     // /dev/nvidiaN
};

class GpuPresence {
 public:
  virtual ~GpuPresence() = default;
  // The NVIDIA GPUs of this host; empty when there are none (or no driver).
  virtual Result<std::vector<HostGpu>> gpus() = 0;
  // True when this host has the device TYPE MAJOR:MINOR ('c' or 'b').
  virtual bool device_exists(char type, unsigned major, unsigned minor) = 0;
};

// /proc/driver/nvidia/gpus/*/information (one file per GPU):
//   Model:           NVIDIA H100 80GB HBM3
//   GPU UUID:        GPU-8f0c2f5e-...
//   Device Minor:    0
// (format seen on an H100 with driver 580), and for devices /sys/dev/{char,block}/MAJOR:MINOR,
// else a node with that number in /dev or one directory below: NVIDIA's nodes (major 195) have
// no /sys/dev entry.
class SysGpuPresence : public GpuPresence {
 public:
  explicit SysGpuPresence(std::filesystem::path proc = "/proc", std::filesystem::path sys = "/sys",
                          std::filesystem::path dev = "/dev")
      : proc_(std::move(proc)), sys_(std::move(sys)), dev_(std::move(dev)) {}
  Result<std::vector<HostGpu>> gpus() override;
  bool device_exists(char type, unsigned major, unsigned minor) override;

 private:
  std::filesystem::path proc_;
  std::filesystem::path sys_;
  std::filesystem::path dev_;
};

// Parses one `information` file; fails when it has no GPU UUID.
Result<HostGpu> parse_nvidia_information(std::string_view text);

}  // namespace gpucr::hooks
