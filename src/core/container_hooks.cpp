#include "core/container_hooks.hpp"

#include "core/container_gpus.hpp"
#include "core/cuda_restore.hpp"
#include "recovery/guardian.hpp"
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

static Result<std::string> prestart_restore(const HookContext& ctx, const fs::path& image, hooks::GpuPresence& gpus,
                                            cuda::GpuInventory& nvidia) {
  const std::string& id = ctx.state.id;
  const std::string what = "restore of container " + id + " from " + image.string();
  if (auto holder = runtime::container_lock_holder(ctx.run, id); holder && holder->find("op=restore") != std::string::npos) {
    return what + ": orchestrated by gpucr (" + *holder + "), which checked the GPUs";
  }
  auto manifest = GPUCR_TRY(read_manifest(image));
  if (!manifest || (!manifest->has_container() && manifest->cuda_processes_size() == 0)) {
    return what + ": no gpucr container record, nothing to check";
  }
  if (manifest->cuda_processes_size() > 0) {
    auto local = nvidia.gpus();
    if (!local) return fail(std::move(local).error().context(what));
    if (auto plan = plan_manifest_gpus(*manifest, *local, std::nullopt); !plan) {
      Error e = std::move(plan).error().context(what);
      e.details.push_back("the map goes to `gpucr restore --device-map MAP CONTAINER`, or to the runtime wrapper "
                          "(gpucr-runc) as GPUCR_DEVICE_MAP=MAP");
      return fail(std::move(e));
    }
  }
  if (manifest->has_container()) {
    auto st = check_gpus_present(manifest->container(), gpus);
    if (!st) return fail(std::move(st).error().context(what));
  }
  return what + ": the GPUs of its " + std::to_string(manifest->cuda_processes_size()) + " CUDA process(es) and " +
         std::to_string(manifest->container().gpu_devices_size()) + " GPU device(s) are present";
}

static Result<std::string> prestart_create(const HookContext& ctx) {
  const std::string& id = ctx.state.id;
  auto gpus = GPUCR_TRY(runtime::read_bundle_gpus(ctx.state.bundle));
  if (!gpus.any()) return "container " + id + " has no GPU devices; nothing recorded";
  GPUCR_TRY(write_devices_record(ctx.run, id, ctx.state.bundle, gpus));
  return "container " + id + ": recorded " + std::to_string(gpus.devices.size()) + " GPU device(s)";
}

Result<std::string> hook_prestart(const HookContext& ctx, hooks::GpuPresence& gpus, cuda::GpuInventory& nvidia) {
  GPUCR_TRY(runtime::check_container_id(ctx.state.id));
  if (auto image = restore_image_of(ctx.parent_argv, ctx.parent_cwd, ctx.state.id)) {
    return prestart_restore(ctx, *image, gpus, nvidia);
  }
  return prestart_create(ctx);
}

// Journals of this container's operations that nobody finishes: its CUDA processes back to the
// state the operation promised (the processes are usually gone by now), its freezer cgroup back
// to its original state. An incomplete recovery fails the hook (the journal stays for
// `gpucr recover`).
static Result<std::string> recover_container(const std::string& id, const recovery::Seams& deps) {
  auto stale = recovery::stale_container_journals(deps, id);
  std::vector<std::string> failures;
  for (const auto& j : stale) {
    auto rep = recovery::recover(j, deps);
    std::vector<std::string> lines = {"poststop of container " + id + ": gpucr left " + j.string() + " unfinished"};
    lines.insert(lines.end(), rep.lines.begin(), rep.lines.end());
    if (!rep.status) lines.push_back("error: " + rep.status.error().what);
    recovery::log_recovery(deps.run, lines);
    if (!rep.status) failures.push_back(rep.status.error().what);
  }
  if (!failures.empty()) {
    Error e("container " + id + ": " + failures.front(), Exit::rollback_incomplete);
    e.details.assign(failures.begin() + 1, failures.end());
    e.hint = "run `gpucr recover` once the cause is fixed";
    return fail(std::move(e));
  }
  return stale.empty() ? std::string("no unfinished operation") : "finished " + std::to_string(stale.size()) + " unfinished operation(s)";
}

Result<std::string> hook_poststop(const HookContext& ctx, const recovery::Seams& deps) {
  const std::string& id = ctx.state.id;
  GPUCR_TRY(runtime::check_container_id(id));
  std::string recovered = GPUCR_TRY(recover_container(id, deps));
  GPUCR_TRY(remove_container_records(ctx.run, id));
  std::string lock_note = "its lock is held by a running gpucr operation and stays";
  if (fs::exists(ctx.run.containers())) {
    auto lock = GPUCR_TRY(runtime::try_lock_container(ctx.run, id, "poststop"));
    if (lock) {
      lock->remove_file();
      lock_note = "no lock left";
    }
  } else {
    lock_note = "no lock left";
  }
  return "container " + id + ": " + recovered + "; removed gpucr's records; " + lock_note;
}

}  // namespace gpucr
