// The KFD device seam (/dev/kfd). gpucr itself only asks the driver for its ioctl interface
// version: CRIU's amdgpu plugin needs KFD ioctl version >= 1.8 (1.7 added the CRIU ioctl, 1.8
// SDMA transfers of GTT buffers). Real: KfdDevice; fake: tests/unit/amd/amd_fakes.hpp.
//
// AMDKFD_IOC_GET_VERSION, written from the kernel's uapi header include/uapi/linux/kfd_ioctl.h:
//   struct kfd_ioctl_get_version_args { __u32 major_version; __u32 minor_version; };  // from KFD
//   #define AMDKFD_IOC_GET_VERSION _IOR('K', 0x01, struct kfd_ioctl_get_version_args)
#pragma once

#include "util/result.hpp"

#include <cstdint>
#include <filesystem>
#include <string>

namespace gpucr::amd {

struct KfdVersion {
  std::uint32_t major = 0;
  std::uint32_t minor = 0;
  auto operator<=>(const KfdVersion&) const = default;
  std::string str() const { return std::to_string(major) + "." + std::to_string(minor); }
};

// The oldest KFD ioctl interface CRIU's amdgpu plugin works with (its major must be equal).
inline constexpr KfdVersion kKfdMinimum{1, 8};
bool kfd_supports_criu(KfdVersion v);

class Kfd {
 public:
  virtual ~Kfd() = default;
  virtual const std::filesystem::path& path() const = 0;
  // Whether the device node exists at all.
  virtual bool present() const = 0;
  // Opens the device and asks for its version (exit missing_dependency when absent or failing).
  virtual Result<KfdVersion> version() const = 0;
};

class KfdDevice : public Kfd {
 public:
  explicit KfdDevice(std::filesystem::path path = "/dev/kfd") : path_(std::move(path)) {}
  const std::filesystem::path& path() const override { return path_; }
  bool present() const override;
  Result<KfdVersion> version() const override;

 private:
  std::filesystem::path path_;
};

}  // namespace gpucr::amd
