#include "gpu/amd/kfd.hpp"

#include "util/fd.hpp"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>

namespace gpucr::amd {

namespace {

struct GetVersionArgs {  // struct kfd_ioctl_get_version_args
  std::uint32_t major_version;
  std::uint32_t minor_version;
};
static_assert(sizeof(GetVersionArgs) == 8);

constexpr unsigned long kIocGetVersion = _IOR('K', 0x01, GetVersionArgs);

}  // namespace

bool kfd_supports_criu(KfdVersion v) { return v.major == kKfdMinimum.major && v.minor >= kKfdMinimum.minor; }

bool KfdDevice::present() const { return ::access(path_.c_str(), F_OK) == 0; }

Result<KfdVersion> KfdDevice::version() const {
  UniqueFd fd(::open(path_.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) {
    return fail(sys_error("cannot open " + path_.string(), errno)
                    .with_exit(Exit::missing_dependency)
                    .with_hint("AMD GPUs need the amdgpu driver with KFD (/dev/kfd) and access to it"));
  }
  GetVersionArgs args{};
  int rc;
  do {
    rc = ::ioctl(fd.get(), kIocGetVersion, &args);
  } while (rc < 0 && errno == EINTR);
  if (rc < 0) {
    return fail(sys_error("AMDKFD_IOC_GET_VERSION on " + path_.string() + " failed", errno)
                    .with_exit(Exit::missing_dependency));
  }
  return KfdVersion{args.major_version, args.minor_version};
}

}  // namespace gpucr::amd
