#include "core/cuda_checkpoint.hpp"

#include "recovery/recover.hpp"
#include "util/log.hpp"
#include "util/parallel.hpp"
#include "util/strings.hpp"

#include <algorithm>
#include <mutex>

namespace gpucr {

using cuda::State;
using cuda::Step;

bool CudaCheckpoint::find_candidates(const std::vector<proc::ProcInfo>& tree) {
  candidates_ = cuda::find_candidates(host_.procs, tree);
  return !candidates_.empty();
}

Status CudaCheckpoint::classify() {
  if (candidates_.empty()) return {};
  auto backend = host_.cuda_backends.make(opts_.backend, opts_.tool);
  if (!backend) {
    Error e = std::move(backend).error();
    e.what = "the tree has processes that use the NVIDIA driver (" + candidates_.front().info.comm + " pid " +
             std::to_string(candidates_.front().info.pid) + ") but " + e.what;
    return fail(std::move(e));
  }
  backend_ = std::move(*backend);
  gpus_ = host_.gpus.gpus().value_or(std::vector<cuda::GpuInfo>{});
  std::vector<std::optional<cuda::Reply>> replies(candidates_.size());
  std::vector<std::string> lost(candidates_.size());
  parallel_for(candidates_.size(), [&](size_t i) {
    auto r = backend_->call(Step::get_state, candidates_[i].info.pid, {}, Clock::now() + std::chrono::seconds(30));
    if (r) replies[i] = *r;
    else lost[i] = r.error().what;
  });
  std::vector<std::string> refused;
  for (size_t i = 0; i < candidates_.size(); ++i) {
    const auto& c = candidates_[i];
    if (!lost[i].empty()) return fail(Error(lost[i]));
    if (replies[i]->ok() && replies[i]->state) {
      CudaProcess p;
      p.info = c.info;
      p.initial = p.now = *replies[i]->state;
      p.uvm_mappings = c.uvm_mappings;
      procs_.push_back(std::move(p));
    } else if (c.device_fds) {
      refused.push_back("pid " + std::to_string(c.info.pid) + " (" + c.info.comm +
                        ") holds NVIDIA device files but has no CUDA context (" + replies[i]->error + ")");
    }  // libcuda mapped, never initialized: not a CUDA process, left alone
  }
  if (!refused.empty()) {
    Error e("can't checkpoint: " + refused.front(), Exit::bad_input);
    e.details.assign(refused.begin() + 1, refused.end());
    e.hint = "a process forked from a CUDA process without exec, or one using only NVML, keeps NVIDIA device "
             "files the driver can't checkpoint; end it or exec a new program in it";
    return fail(std::move(e));
  }
  for (auto& p : procs_) {
    for (const auto& g : gpus_) {
      for (const auto& gp : g.processes) {
        if (gp.pid != p.info.pid) continue;
        p.gpus.push_back(g.uuid);
        p.gpu_names.push_back(g.name);
        p.device_bytes += gp.used_bytes;
      }
    }
    if (p.initial == State::failed) {
      return fail(Error("CUDA process " + p.who() + " is in the FAILED checkpoint state", Exit::bad_input)
                      .with_hint("the driver can't checkpoint it; restart the process"));
    }
  }
  return {};
}

Status CudaCheckpoint::refuse_unsupported() {
  for (const auto& p : procs_) {
    if (p.uvm_mappings > 1 && p.initial == State::running) {
      return fail(Error(p.who() + " appears to use CUDA managed (UVM) memory (" + std::to_string(p.uvm_mappings) +
                            " nvidia-uvm mappings), which the driver can't checkpoint",
                        Exit::bad_input)
                      .with_hint("use cudaMalloc instead of cudaMallocManaged, or pass --force to try anyway "
                                 "(the driver then refuses the checkpoint and gpucr unlocks the process)"));
    }
  }
  for (const auto& p : procs_) {
    for (const auto& g : gpus_) {
      bool uses = std::find(p.gpus.begin(), p.gpus.end(), g.uuid) != p.gpus.end();
      if (uses && g.mig) {
        return fail(Error(p.who() + " runs on " + g.uuid.str() + ", which is in MIG mode: the driver can't checkpoint "
                                    "MIG instances", Exit::bad_input)
                        .with_hint("run the workload on a GPU without MIG, or pass --force to try anyway"));
      }
    }
  }
  for (pid_t pid : host_.procs.all_pids().value_or(std::vector<pid_t>{})) {
    auto info = host_.procs.info(pid);
    if (info && info->comm.rfind("nvidia-cuda-mps", 0) == 0) {
      return fail(Error("MPS is active on this host (" + info->comm + " pid " + std::to_string(pid) +
                            "): the driver can't checkpoint MPS clients",
                        Exit::bad_input)
                      .with_hint("stop the MPS daemon (echo quit | nvidia-cuda-mps-control), or pass --force"));
    }
  }
  return {};
}

Status CudaCheckpoint::preflight(const fs::path& image_dir, std::uint64_t tree_rss) {
  if (procs_.empty()) return {};
  if (!opts_.force) GPUCR_TRY(refuse_unsupported());
  std::uint64_t device = 0;
  for (const auto& p : procs_) {
    if (p.initial != State::checkpointed) device += p.device_bytes;
  }
  bool tmpfs = is_on_tmpfs(image_dir);
  std::uint64_t image = tmpfs ? device + tree_rss : 0;
  std::uint64_t need = device + image;
  auto avail = host_.procs.mem_available();
  if (!avail) {
    log::warn("can't read MemAvailable; skipping the host memory check");
    return {};
  }
  log::info("host memory: need about " + format_bytes(need) + ", " + format_bytes(*avail) + " available");
  if (need <= *avail || opts_.force) return {};
  std::string why = format_bytes(device) + " of device memory staged in host memory";
  if (tmpfs) why += " + about " + format_bytes(image) + " of images on tmpfs " + image_dir.string();
  return fail(Error("not enough host memory to checkpoint: about " + format_bytes(need) + " needed (" + why + "), " +
                        format_bytes(*avail) + " available",
                    Exit::not_permitted)
                  .with_hint("free memory, put the images on a disk instead of tmpfs, or pass --force"));
}

Status CudaCheckpoint::lock_all() {
  if (procs_.empty()) return {};
  return lock_step(*backend_, procs_, opts_);
}

Status CudaCheckpoint::checkpoint_all() {
  if (procs_.empty()) return {};
  return run_step(*backend_, procs_, Step::checkpoint, {}, State::checkpointed,
                  [](const CudaProcess& p) { return p.now == State::locked; });
}

Status CudaCheckpoint::rollback() {
  std::vector<CudaProcess*> moved;
  for (auto& p : procs_) {
    if (p.moved()) moved.push_back(&p);
  }
  std::vector<std::string> failures;
  std::mutex mu;
  parallel_for(moved.size(), [&](size_t i) {
    CudaProcess& p = *moved[i];
    if (!host_.procs.alive({p.info.pid, p.info.start_time})) {  // it ended on its own: nothing to return
      std::lock_guard lock(mu);
      p.outcome.push_back("exited during the checkpoint: nothing of it to return");
      gone_.push_back(p.who());
      return;
    }
    auto t0 = std::chrono::steady_clock::now();
    auto r = recovery::bring_to_state(*backend_, p.info.pid, p.initial, {}, p.device_bytes);
    p.timings.push_back({"rollback", std::chrono::steady_clock::now() - t0, r.ok()});
    std::lock_guard lock(mu);
    if (r) {
      p.now = p.initial;
      p.known = true;
      p.outcome.push_back("returned to " + std::string(cuda::to_string(p.initial)) + " (" + *r + ")");
    } else {
      p.outcome.push_back("could NOT be returned to " + std::string(cuda::to_string(p.initial)) + ": " + r.error().what);
      failures.push_back(r.error().what);
    }
  });
  if (failures.empty()) return {};
  Error e("CUDA rollback incomplete: " + failures.front(), Exit::rollback_incomplete);
  e.details.assign(failures.begin() + 1, failures.end());
  e.hint = "the journal was kept; run `gpucr recover` once the cause is fixed";
  return fail(std::move(e));
}

void CudaCheckpoint::record(pb::Manifest& m) const {
  m.set_cuda_backend(backend_ ? backend_->kind() : "");
  if (!gpus_.empty()) m.set_nvidia_driver_version(gpus_.front().driver_version);
  for (const auto& g : gpus_) {
    auto* rec = m.add_host_gpus();
    rec->set_uuid(g.uuid.str());
    rec->set_name(g.name);
    rec->set_memory_bytes(g.memory_bytes);
    rec->set_minor(g.minor);
    rec->set_index(g.index);
  }
  for (const auto& p : procs_) {
    auto* rec = m.add_cuda_processes();
    rec->set_pid(p.info.pid);
    for (pid_t n : p.info.nspid) rec->add_nspid(n);
    rec->set_comm(p.info.comm);
    rec->set_initial_state(cuda::to_string(p.initial));
    for (const auto& u : p.gpus) rec->add_gpu_uuids(u.str());
    rec->set_device_memory_bytes(p.device_bytes);
    for (const auto& t : p.timings) {
      auto* ph = rec->add_phases();
      ph->set_name(t.name);
      ph->set_duration_us(std::chrono::duration_cast<std::chrono::microseconds>(t.took).count());
      ph->set_ok(t.ok);
    }
  }
}

void CudaCheckpoint::journal(recovery::JournalData& d) const {
  d.backend = backend_ ? backend_->kind() : "";
  if (auto* tool = dynamic_cast<const cuda::ToolBackend*>(backend_.get())) d.tool = tool->tool().string();
  d.processes.clear();
  for (const auto& p : procs_) {
    d.processes.push_back({{p.info.pid, p.info.start_time}, p.info.nspid, p.initial, p.device_bytes});
  }
}

std::vector<std::string> CudaCheckpoint::report_lines() const {
  std::vector<std::string> out;
  for (const auto& p : procs_) {
    out.push_back(p.who() + ": initial " + cuda::to_string(p.initial) + ", " + format_bytes(p.device_bytes) +
                  " device memory; " + join(p.outcome, "; "));
  }
  return out;
}

}  // namespace gpucr
