// What a destination needs to take a checkpoint, recorded in its manifest (proto/manifest.proto,
// Requirements) when the checkpoint completes the image, so that a destination can judge an
// image (core/destination.hpp) before anything is extracted or started:
//   - each GPU the CUDA processes used: UUID, model, memory, device memory used on it;
//   - host memory: the size of the page images (pages-*.img), which is what the restored tree
//     takes in RAM; they hold the device memory the driver staged into the processes;
//   - the criu that dumped, the inventory's plugins field, the number of CUDA processes.
// The GPU models and driver version are the manifest's own host_gpus and nvidia_driver_version.
#pragma once

#include "manifest.pb.h"

#include <filesystem>

namespace gpucr {

// Fills m.requirements from the rest of `m` and the images in `image_dir`. Never fails: what
// can't be read stays unset.
void record_requirements(pb::Manifest& m, const std::filesystem::path& image_dir);

// The requirements of `m`: its own when recorded, else derived from its other fields (an image
// of an older gpucr; its host memory is then unknown, 0).
pb::Requirements requirements_of(const pb::Manifest& m);

}  // namespace gpucr
