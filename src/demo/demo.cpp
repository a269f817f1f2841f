#include "demo/demo.hpp"

#include "util/fd.hpp"
#include "util/strings.hpp"
#include "util/subprocess.hpp"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include <thread>

namespace gpucr::demo {

namespace {

using namespace std::chrono_literals;

// Polls the status file until `pred` holds or `timeout` passes.
template <class Pred>
std::optional<WorkloadStatus> wait_status(const fs::path& dir, std::chrono::milliseconds timeout, Pred pred) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (auto s = read_status(dir); s && pred(*s)) return s;
    std::this_thread::sleep_for(20ms);
  }
  return std::nullopt;
}

// After criu killed the dumped tree, its processes are zombies: the root is our child and the
// others become ours (we are a child subreaper). Reaping them at once frees their pids for the
// restore (otherwise init reaps them, which can take seconds).
void reap_dumped(const pb::Manifest& m) {
  auto deadline = std::chrono::steady_clock::now() + 5s;
  for (const auto& p : m.processes()) {
    int ws;
    while (::waitpid(p.pid(), &ws, WNOHANG) == 0 || (errno == ECHILD && ::kill(p.pid(), 0) == 0)) {
      if (std::chrono::steady_clock::now() > deadline) return;
      std::this_thread::sleep_for(1ms);
    }
  }
}

void kill_and_reap(pid_t pid) {
  if (pid <= 0) return;
  ::kill(-pid, SIGKILL);  // the workload leads its own process group
  ::kill(pid, SIGKILL);
  int ws;
  ::waitpid(pid, &ws, 0);
}

}  // namespace

DemoReport run_demo(const DemoOptions& opts, Host& host) {
  DemoReport r;
  auto fail_with = [&](Error e) {
    r.status = fail(std::move(e));
    return std::move(r);
  };
  char tmpl[] = "/tmp/gpucr-demo.XXXXXX";
  if (!::mkdtemp(tmpl)) return fail_with(sys_error("cannot create a temporary directory", errno));
  fs::path tmp = tmpl;
  ::prctl(PR_SET_CHILD_SUBREAPER, 1);
  Defer cleanup([&] {
    kill_and_reap(r.restored_pid);
    std::error_code ec;
    fs::remove_all(tmp, ec);
  });
  fs::path work = tmp / "workload";
  fs::create_directories(work);

  std::error_code ec;
  fs::path exe = fs::read_symlink(opts.self_exe, ec);  // so the workload's comm is "gpucr", not "exe"
  if (ec) exe = opts.self_exe;
  Command cmd{.argv = {exe.string(), self::kDemoWorkload, "--dir", work.string(), "--mib",
                       std::to_string(opts.mib), "--gpu-mib", std::to_string(opts.gpu_mib)},
              .stdout_file = work / "workload.log",
              .stderr_file = "=stdout",
              .new_session = true};
  auto child = spawn(cmd);
  if (!child) return fail_with(std::move(child).error());
  r.original_pid = child->detach();
  Defer kill_original([&] { kill_and_reap(r.original_pid); });
  host.progress.note("started the demo workload: pid " + std::to_string(r.original_pid) + ", " +
                     std::to_string(opts.mib) + " MiB of patterned memory" +
                     (opts.gpu_mib ? " and " + std::to_string(opts.gpu_mib) + " MiB on GPU 0" : std::string()) +
                     ", a child process and a thread");
  if (!wait_status(work, 60s, [](const WorkloadStatus& s) { return s.counter >= 3; })) {
    auto log = read_file(work / "workload.log").value_or("");
    return fail_with(Error("the demo workload did not start counting within 60 s" +
                           (log.empty() ? std::string() : ": " + std::string(trim(log)))));
  }

  CheckpointRequest co;
  co.pid = r.original_pid;
  co.image_dir = opts.image_dir.value_or(tmp / "images");
  co.cuda = opts.cuda;
  auto t0 = std::chrono::steady_clock::now();
  r.checkpoint = checkpoint(co, host);
  if (!r.checkpoint.status) return fail_with(r.checkpoint.status.error());
  reap_dumped(r.checkpoint.manifest);
  kill_original.dismiss();
  r.at_checkpoint = read_status(work).value_or(WorkloadStatus{});

  RestoreRequest ro;
  ro.image_dir = co.image_dir;
  ro.cuda = opts.cuda;
  r.restore = restore(ro, host);
  r.downtime = std::chrono::steady_clock::now() - t0;
  if (!r.restore.status) return fail_with(r.restore.status.error());
  r.restored_pid = r.restore.root_pid;

  std::uint64_t dumped = r.at_checkpoint.counter;
  auto after = wait_status(work, 30s, [&](const WorkloadStatus& s) {
    return s.pid == r.restored_pid && s.counter >= dumped + 3;
  });
  if (!after) {
    return fail_with(Error("the restored workload (pid " + std::to_string(r.restored_pid) +
                           ") did not continue counting after restore"));
  }
  r.after_restore = *after;
  if (after->corrupt != 0) {
    return fail_with(Error("the restored workload found " + std::to_string(after->corrupt) + " corrupted words"));
  }
  if (after->counter > dumped + 1000) {
    return fail_with(Error("the restored workload's counter jumped from " + std::to_string(dumped) + " to " +
                           std::to_string(after->counter)));
  }
  return r;
}

}  // namespace gpucr::demo
