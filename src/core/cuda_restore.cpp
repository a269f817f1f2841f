#include "core/cuda_restore.hpp"

#include "core/gpu_allocation.hpp"
#include "gpu/cuda/detect.hpp"
#include "util/log.hpp"
#include "util/strings.hpp"

#include <set>

namespace gpucr {

using cuda::State;
using cuda::Step;

Result<cuda::MapPlan> plan_manifest_gpus(const pb::Manifest& m, const std::vector<cuda::GpuInfo>& local,
                                         const std::optional<std::string>& user_map,
                                         const std::vector<cuda::Uuid>& targets, const std::string& targets_source) {
  cuda::MapInput in;
  in.local = local;
  in.user_map = user_map;
  in.targets = targets;
  in.targets_source = targets_source;
  std::set<cuda::Uuid> seen;
  for (const auto& rec : m.cuda_processes()) {
    for (const auto& u : rec.gpu_uuids()) {
      auto uuid = GPUCR_TRY(cuda::parse_uuid(u));
      if (seen.insert(uuid).second) in.needed.push_back(uuid);
      in.used_bytes[uuid] += rec.device_memory_bytes();  // a process's total: an upper bound per GPU
    }
  }
  auto& old_gpus = in.old_gpus;
  for (const auto& g : m.host_gpus()) {
    cuda::GpuInfo info;
    info.uuid = GPUCR_TRY(cuda::parse_uuid(g.uuid()));
    info.name = g.name();
    info.memory_bytes = g.memory_bytes();
    info.minor = g.minor();
    info.index = g.index();
    old_gpus.push_back(std::move(info));
  }
  return cuda::plan_device_map(in);
}

Status CudaRestore::plan(const std::optional<pb::Manifest>& manifest) {
  if (!manifest || manifest->cuda_processes_size() == 0) {
    if (user_map_) return fail(Error("--device-map given, but the image holds no CUDA state", Exit::usage));
    return {};
  }
  for (const auto& rec : manifest->cuda_processes()) {
    CudaProcess p;
    p.info.pid = rec.pid();
    p.info.comm = rec.comm();
    auto initial = cuda::parse_state(rec.initial_state());
    p.initial = initial.value_or(State::running);
    p.now = State::checkpointed;
    p.device_bytes = rec.device_memory_bytes();
    for (const auto& u : rec.gpu_uuids()) p.gpus.push_back(GPUCR_TRY(cuda::parse_uuid(u)));
    procs_.push_back(std::move(p));
    nspids_.emplace_back(rec.nspid().begin(), rec.nspid().end());
  }
  auto backend = host_.cuda_backends.make(opts_.backend, opts_.tool);
  if (!backend) {
    Error e = std::move(backend).error();
    e.what = "the image holds the GPU state of " + std::to_string(procs_.size()) +
             " CUDA process(es), but " + e.what;
    return fail(std::move(e));
  }
  backend_ = std::move(*backend);
  auto local = GPUCR_TRY(host_.gpus.gpus());
  std::vector<cuda::Uuid> targets;
  if (opts_.allocation) targets = GPUCR_TRY(resolve_allocation(*opts_.allocation, local));
  map_ = GPUCR_TRY(plan_manifest_gpus(*manifest, local, user_map_, targets,
                                      opts_.allocation ? opts_.allocation->source : std::string()));
  if (!map_.pairs.empty()) host_.progress.note("GPU map (" + map_.how + "): " + map_.describe());
  return {};
}

void CudaRestore::journal(recovery::JournalData& d) const {
  d.backend = backend_ ? backend_->kind() : "";
  if (auto* tool = dynamic_cast<const cuda::ToolBackend*>(backend_.get())) d.tool = tool->tool().string();
  d.device_map = map_.describe();
  d.processes.clear();
  for (size_t i = 0; i < procs_.size(); ++i) {
    const auto& p = procs_[i];
    proc::ProcessId id = found_ ? proc::ProcessId{p.info.pid, p.info.start_time} : proc::ProcessId{};
    d.processes.push_back({id, nspids_[i], p.initial, p.device_bytes});
  }
}

Status CudaRestore::find_restored(pid_t root) {
  for (size_t i = 0; i < procs_.size(); ++i) {
    auto& p = procs_[i];
    const auto& ns = nspids_[i];
    pid_t host = p.info.pid;
    if (ns.size() > 1) {  // in a pid namespace: its host pid changed
      auto mapped = proc::host_pid_for_nspid(host_.procs, root, ns.back());
      if (!mapped) {
        return fail(Error("can't find restored CUDA process " + std::to_string(ns.back()) +
                          " (pid in its namespace) of the tree rooted at pid " + std::to_string(root)));
      }
      host = *mapped;
    }
    auto info = host_.procs.info(host);
    if (!info) {
      return fail(Error("restored CUDA process pid " + std::to_string(host) + " (" + p.info.comm + ") is not running"));
    }
    p.info = *info;
  }
  found_ = true;
  return {};
}

Result<std::vector<pid_t>> CudaRestore::adopt_unplanned(pid_t root) {
  std::vector<pid_t> adopted;
  auto tree = proc::process_tree(host_.procs, root);
  if (!tree) return adopted;  // the tree ended: nothing to ask about
  std::set<pid_t> planned;
  for (const auto& p : procs_) planned.insert(p.info.pid);
  std::vector<cuda::Candidate> unknown;
  for (auto& c : cuda::find_candidates(host_.procs, *tree)) {
    if (!planned.count(c.info.pid)) unknown.push_back(std::move(c));
  }
  if (unknown.empty()) return adopted;
  if (!backend_) {
    auto backend = host_.cuda_backends.make(opts_.backend, opts_.tool);
    if (!backend) {
      log::warn("the restored tree has processes that use the NVIDIA driver (" + unknown.front().info.comm + " pid " +
                std::to_string(unknown.front().info.pid) + "), but their CUDA state can't be checked: " +
                backend.error().what);
      return adopted;
    }
    backend_ = std::move(*backend);
  }
  for (const auto& c : unknown) {
    auto r = GPUCR_TRY(backend_->call(Step::get_state, c.info.pid, {}, Clock::now() + std::chrono::seconds(30)));
    if (!r.ok() || !r.state || *r.state == State::running) continue;
    CudaProcess p;
    p.info = c.info;
    p.initial = State::running;  // what it must be once the restore is done
    p.now = *r.state;
    p.outcome.push_back("found " + std::string(cuda::to_string(*r.state)) + " though the manifest did not name it");
    procs_.push_back(std::move(p));
    nspids_.emplace_back();
    adopted.push_back(c.info.pid);
  }
  return adopted;
}

Status CudaRestore::restore_all() {
  if (procs_.empty()) return {};
  cuda::CallArgs args;
  args.map = map_.pairs;
  return run_step(*backend_, procs_, Step::restore, args, State::locked, [](const CudaProcess& p) {
    return p.now == State::checkpointed && p.initial != State::checkpointed;
  });
}

Status CudaRestore::verify() {
  if (procs_.empty()) return {};
  std::vector<std::string> wrong;
  for (const auto& p : procs_) {
    auto r = backend_->call(Step::get_state, p.info.pid, {}, Clock::now() + std::chrono::seconds(30));
    if (!r) {
      wrong.push_back(p.who() + ": no answer from the driver (" + r.error().what + ")");
    } else if (!r->ok() || !r->state) {
      wrong.push_back(p.who() + ": the driver says " + r->error);
    } else if (*r->state != p.initial) {
      wrong.push_back(p.who() + " is " + cuda::to_string(*r->state) + ", not " + cuda::to_string(p.initial));
    }
  }
  if (wrong.empty()) return {};
  Error e("the GPU state of the restored tree is not what was checkpointed: " + wrong.front());
  e.details.assign(wrong.begin() + 1, wrong.end());
  e.hint = "the restored tree was removed; check the GPU (nvidia-smi) and restore again";
  return fail(std::move(e));
}

Status CudaRestore::unlock_all() {
  if (procs_.empty()) return {};
  return run_step(*backend_, procs_, Step::unlock, {}, State::running,
                  [](const CudaProcess& p) { return p.initial == State::running && p.now == State::locked; });
}

// "GPU-new (was GPU-old)" when the map moved it, else the UUID.
std::string CudaRestore::moved_to(const cuda::Uuid& old) const {
  for (const auto& pair : map_.pairs) {
    if (pair.old_gpu == old && pair.new_gpu != old) return pair.new_gpu.str() + " (was " + old.str() + ")";
  }
  return old.str();
}

std::vector<std::string> CudaRestore::report_lines() const {
  std::vector<std::string> out;
  for (const auto& p : procs_) {
    std::vector<std::string> gpus;
    for (const auto& g : p.gpus) gpus.push_back(moved_to(g));
    out.push_back(p.who() + ": " + cuda::to_string(p.now) + " (was " + cuda::to_string(p.initial) + " at checkpoint), " +
                  format_bytes(p.device_bytes) + " on " + join(gpus, ",") + "; " + join(p.outcome, "; "));
  }
  if (!map_.pairs.empty()) out.push_back("GPU map: " + map_.describe());
  return out;
}

}  // namespace gpucr
