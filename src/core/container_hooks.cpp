#include "core/container_hooks.hpp"

#include "core/container_gpus.hpp"
#include "core/manifest.hpp"
#include "runtime/argv.hpp"
#include "runtime/bundle.hpp"
#include "runtime/container_id.hpp"
#include "runtime/lock.hpp"
#include "runtime/paths.hpp"

#include <variant>

namespace gpucr {

std::optional<fs::path> restore_image_of(const std::vector<std::string>& parent_argv, const fs::path& parent_cwd,
                                         const std::string& id) {
  if (parent_argv.size() < 2) return std::nullopt;
  auto inv = runtime::split_invocation({parent_argv.begin() + 1, parent_argv.end()});
  if (!inv || inv->command != "restore") return std::nullopt;
  auto parsed = runtime::parse_restore(inv->command_args);
  auto* args = std::get_if<runtime::RestoreArgs>(&parsed);
  if (!args || args->id != id) return std::nullopt;
  return runtime::effective_image_path(args->image_path, parent_cwd);
}

static Result<std::string> prestart_restore(const HookContext& ctx, const fs::path& image, hooks::GpuPresence& gpus) {
  const std::string& id = ctx.state.id;
  auto manifest = GPUCR_TRY(read_manifest(image));
  if (!manifest || !manifest->has_container()) {
    return "restore of container " + id + " from " + image.string() + ": no gpucr container record, nothing to check";
  }
  auto st = check_gpus_present(manifest->container(), gpus);
  if (!st) return fail(std::move(st).error().context("restore of container " + id + " from " + image.string()));
  // GPU (issue 3): also check every GPU the manifest's CUDA processes used.
  return "restore of container " + id + ": the " + std::to_string(manifest->container().gpu_devices_size()) +
         " GPU device(s) of its checkpoint are present";
}

static Result<std::string> prestart_create(const HookContext& ctx) {
  const std::string& id = ctx.state.id;
  auto gpus = GPUCR_TRY(runtime::read_bundle_gpus(ctx.state.bundle));
  if (!gpus.any()) return "container " + id + " has no GPU devices; nothing recorded";
  GPUCR_TRY(write_devices_record(ctx.run_dir, id, ctx.state.bundle, gpus));
  return "container " + id + ": recorded " + std::to_string(gpus.devices.size()) + " GPU device(s)";
}

Result<std::string> hook_prestart(const HookContext& ctx, hooks::GpuPresence& gpus) {
  GPUCR_TRY(runtime::check_container_id(ctx.state.id));
  if (auto image = restore_image_of(ctx.parent_argv, ctx.parent_cwd, ctx.state.id)) {
    return prestart_restore(ctx, *image, gpus);
  }
  return prestart_create(ctx);
}

Result<std::string> hook_poststop(const HookContext& ctx) {
  const std::string& id = ctx.state.id;
  GPUCR_TRY(runtime::check_container_id(id));
  GPUCR_TRY(remove_container_records(ctx.run_dir, id));
  // Freezer (issue 4): thaw every cgroup of this container that gpucr's journal says gpucr froze.
  // GPU (issue 3): unlock every CUDA process of this container that gpucr's journal says gpucr locked.
  std::string lock_note = "its lock is held by a running gpucr operation and stays";
  if (fs::exists(runtime::containers_dir(ctx.run_dir))) {
    auto lock = GPUCR_TRY(runtime::ContainerLock::try_acquire(ctx.run_dir, id, "poststop"));
    if (lock) {
      lock->remove_file();
      lock_note = "no lock left";
    }
  } else {
    lock_note = "no lock left";
  }
  return "container " + id + ": removed gpucr's records; " + lock_note;
}

}  // namespace gpucr
