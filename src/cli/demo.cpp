#include "cli/commands.hpp"
#include "cli/output.hpp"
#include "cli/compose.hpp"
#include "cli/paths.hpp"
#include "demo/demo.hpp"
#include "util/strings.hpp"

#include <cstdio>

namespace gpucr::cli {

// --gpu auto: use the GPU when the driver's checkpoint API and an NVIDIA GPU are here.
static Result<bool> want_gpu(const DemoCommand& cmd, Host& host) {
  if (cmd.gpu == "off") return false;
  if (cmd.gpu != "on" && cmd.gpu != "auto") return fail(Error("invalid --gpu '" + cmd.gpu + "': use auto, on or off", Exit::usage));
  auto backend = host.cuda_backends.make(cuda::BackendChoice::automatic, std::nullopt);
  auto gpus = host.gpus.gpus();
  bool here = backend && gpus && !gpus->empty();
  if (cmd.gpu == "on" && !here) {
    return fail(Error("--gpu on: no usable NVIDIA GPU (" + (backend ? std::string("no GPU found") : backend.error().what) + ")",
                      Exit::missing_dependency));
  }
  return here;
}

static int run_demo_command(const DemoCommand& cmd) {
  auto rh = RealHost::create({.criu = cmd.criu});
  if (!rh) return print_error(rh.error());
  auto image_dir = cmd.image_dir;
  if (auto st = absolute_path(image_dir, "--image-dir"); !st) return print_error(st.error());
  auto gpu = want_gpu(cmd, (*rh)->host());
  if (!gpu) return print_error(gpu.error());
  demo::DemoOptions o;
  o.image_dir = image_dir;
  o.mib = *gpu ? std::min(cmd.mib, 64u) : cmd.mib;
  o.gpu_mib = *gpu ? cmd.gpu_mib : 0;
  auto r = demo::run_demo(o, (*rh)->host());
  if (cmd.json) {
    nlohmann::json doc{{"ok", r.status.ok()},
                       {"workload", o.gpu_mib ? "gpu" : "cpu"},
                       {"verified_gpu_bytes", r.after_restore.gpu_bytes},
                       {"original_pid", r.original_pid},
                       {"restored_pid", r.restored_pid},
                       {"counter_at_checkpoint", r.at_checkpoint.counter},
                       {"counter_after_restore", r.after_restore.counter},
                       {"corrupt_words", r.after_restore.corrupt},
                       {"verified_bytes", r.after_restore.bytes},
                       {"downtime_seconds", std::chrono::duration<double>(r.downtime).count()},
                       {"checkpoint_phases", phases_json(r.checkpoint.phases)},
                       {"restore_phases", phases_json(r.restore.phases)}};
    doc["error"] = r.status.ok() ? nlohmann::json(nullptr) : error_json(r.status.error());
    print_json(doc);
    return r.status.ok() ? 0 : static_cast<int>(r.status.error().exit);
  }
  if (!r.status) return print_error(r.status.error());
  if (o.gpu_mib) {
    std::printf("demo workload (GPU): pid %d, %s of patterned device memory and a device counter on GPU 0, "
                "%s of host memory, a child process and a thread\n",
                r.original_pid, format_bytes(r.after_restore.gpu_bytes).c_str(),
                format_bytes(r.after_restore.bytes).c_str());
  } else {
    std::printf("demo workload (CPU): pid %d, %s of patterned memory, a child process and a thread\n",
                r.original_pid, format_bytes(r.after_restore.bytes).c_str());
  }
  for (const auto& line : r.checkpoint.cuda_report) std::printf("  CUDA checkpoint %s\n", line.c_str());
  for (const auto& line : r.restore.cuda_report) std::printf("  CUDA restore %s\n", line.c_str());
  std::printf("checkpoint (%s image):\n%s", format_bytes(r.checkpoint.image_bytes).c_str(),
              phase_table(r.checkpoint.phases).c_str());
  std::printf("restore:\n%s", phase_table(r.restore.phases).c_str());
  std::printf("verified: restored as pid %d, counter %llu at checkpoint -> %llu after restore, child in step, "
              "%llu corrupted words (every word checked each step%s)\n",
              r.restored_pid, static_cast<unsigned long long>(r.at_checkpoint.counter),
              static_cast<unsigned long long>(r.after_restore.counter),
              static_cast<unsigned long long>(r.after_restore.corrupt),
              o.gpu_mib ? ", device memory and device counter included" : "");
  std::printf("downtime (checkpoint start to restored tree running): %s\n", format_duration(r.downtime).c_str());
  std::printf("demo: OK\n");
  return 0;
}

std::shared_ptr<DemoCommand> add_demo(CLI::App& app, Action& action) {
  auto cmd = std::make_shared<DemoCommand>();
  auto* sub = app.add_subcommand(
      "demo", "Checkpoint, kill, restore and verify a built-in workload, and print phase timings");
  sub->add_option("--mib", cmd->mib, "Memory the workload holds and verifies, in MiB (default 256)")
      ->check(CLI::Range(1, 1 << 20));
  sub->add_option("--gpu", cmd->gpu, "auto (default: use GPU 0 when the NVIDIA driver's checkpoint API is here), on, off");
  sub->add_option("--gpu-mib", cmd->gpu_mib, "Device memory the GPU workload holds and verifies, in MiB (default 1024)")
      ->check(CLI::Range(1, 1 << 24));
  sub->add_option("--image-dir", cmd->image_dir, "Keep the images here (default: a temporary directory)");
  sub->add_option("--criu", cmd->criu, "criu binary (default: $GPUCR_CRIU, then criu in PATH)");
  sub->add_flag("--json", cmd->json, "Print one JSON result document on stdout");
  sub->callback([cmd, &action] { action = [cmd] { return run_demo_command(*cmd); }; });

  // The workload itself, started by the demo as a separate process tree.
  auto dir = std::make_shared<fs::path>();
  auto mib = std::make_shared<unsigned>(256);
  auto gpu_mib = std::make_shared<unsigned>(0);
  auto* w = app.add_subcommand("__demo-workload", "internal: the demo's workload")->group("");
  w->add_option("--dir", *dir)->required();
  w->add_option("--mib", *mib);
  w->add_option("--gpu-mib", *gpu_mib);
  w->callback([=, &action] { action = [=] { return demo::run_workload(*dir, *mib, *gpu_mib); }; });
  return cmd;
}

}  // namespace gpucr::cli
