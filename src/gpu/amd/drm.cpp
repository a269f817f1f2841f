#include "gpu/amd/drm.hpp"

#include "util/fd.hpp"

#include <amdgpu.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <xf86drm.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace gpucr::amd {

namespace {

std::string bus_name(const drmPciBusInfo& b) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04x:%02x:%02x.%u", b.domain, b.bus, b.dev, b.func);
  return buf;
}

// Driver name, marketing name and family of one render node.
void identify(RenderNode& n) {
  UniqueFd fd(::open(n.path.c_str(), O_RDWR | O_CLOEXEC));
  if (!fd) {
    n.error = std::string("cannot open: ") + std::strerror(errno);
    return;
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) == 0) n.minor = minor(st.st_rdev);
  if (drmVersionPtr v = drmGetVersion(fd.get())) {
    n.driver = v->name ? v->name : "";
    drmFreeVersion(v);
  }
  if (n.driver != "amdgpu") return;
  std::uint32_t major_v = 0, minor_v = 0;
  amdgpu_device_handle dev = nullptr;
  if (int rc = amdgpu_device_initialize(fd.get(), &major_v, &minor_v, &dev); rc != 0) {
    n.error = std::string("amdgpu_device_initialize: ") + std::strerror(-rc);
    return;
  }
  if (const char* name = amdgpu_get_marketing_name(dev)) n.marketing_name = name;
  amdgpu_gpu_info info{};
  if (amdgpu_query_gpu_info(dev, &info) == 0) n.family_id = info.family_id;
  amdgpu_device_deinitialize(dev);
}

}  // namespace

Result<std::vector<RenderNode>> amd_render_nodes() {
  std::vector<RenderNode> out;
  int count = drmGetDevices2(0, nullptr, 0);
  if (count == -ENOENT || count == -ENODEV || count == 0) return out;  // no /dev/dri, no devices
  if (count < 0) return fail(sys_error("drmGetDevices2 failed", -count).with_exit(Exit::missing_dependency));
  std::vector<drmDevicePtr> devs(static_cast<size_t>(count));
  count = drmGetDevices2(0, devs.data(), count);
  if (count < 0) return fail(sys_error("drmGetDevices2 failed", -count).with_exit(Exit::missing_dependency));
  for (int i = 0; i < count; ++i) {
    const drmDevice& d = *devs[static_cast<size_t>(i)];
    if (d.bustype != DRM_BUS_PCI || !(d.available_nodes & (1 << DRM_NODE_RENDER))) continue;
    if (d.deviceinfo.pci->vendor_id != kAmdVendorId) continue;
    RenderNode n;
    n.path = d.nodes[DRM_NODE_RENDER];
    n.pci_bus = bus_name(*d.businfo.pci);
    n.vendor_id = d.deviceinfo.pci->vendor_id;
    n.device_id = d.deviceinfo.pci->device_id;
    identify(n);
    out.push_back(std::move(n));
  }
  drmFreeDevices(devs.data(), count);
  return out;
}

}  // namespace gpucr::amd
