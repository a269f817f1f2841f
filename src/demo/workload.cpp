#include "demo/workload.hpp"

#include "demo/cuda_device.hpp"

#include "util/file.hpp"
#include "util/strings.hpp"

#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <chrono>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace gpucr::demo {

namespace {

std::uint64_t pattern(std::uint64_t i) { return (i + 1) * 0x9E3779B97F4A7C15ULL; }

// The child: echoes every counter value it reads back on the other pipe.
[[noreturn]] void child_loop(int in, int out) {
  std::uint64_t v;
  while (::read(in, &v, sizeof v) == sizeof v) {
    if (::write(out, &v, sizeof v) != sizeof v) break;
  }
  ::_exit(0);
}

}  // namespace

int run_workload(const std::filesystem::path& dir, unsigned mib, unsigned gpu_mib) {

  int to_child[2], from_child[2];
  if (::pipe(to_child) != 0 || ::pipe(from_child) != 0) return 1;
  pid_t kid = ::fork();
  if (kid < 0) return 1;
  if (kid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    ::close(to_child[1]);
    ::close(from_child[0]);
    child_loop(to_child[0], from_child[1]);
  }
  ::close(to_child[0]);
  ::close(from_child[1]);
  // CUDA only after the fork: a child forked from a CUDA process without exec would hold NVIDIA
  // device files without a context, which the driver can't checkpoint.
  std::optional<CudaDevice> gpu;
  if (gpu_mib > 0) {
    auto dev = CudaDevice::open(std::uint64_t{gpu_mib} << 20);
    if (!dev) {
      std::fprintf(stderr, "%s\n", dev.error().what.c_str());
      return 1;
    }
    gpu = std::move(*dev);
  }

  size_t words = static_cast<size_t>(mib) * (1u << 20) / sizeof(std::uint64_t);
  std::vector<std::uint64_t> mem(words);
  for (size_t i = 0; i < words; ++i) mem[i] = pattern(i);

  // A second thread that keeps its own count, so the tree has a multi-threaded process.
  std::atomic<std::uint64_t> ticks{0};
  std::thread ticker([&] {
    for (;;) {
      ticks.fetch_add(1);
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  });
  ticker.detach();

  std::uint64_t counter = 0, child = 0, corrupt = 0;
  for (;;) {
    ++counter;
    for (size_t i = 0; i < words; ++i) corrupt += mem[i] != pattern(i);
    if (gpu) {
      auto bad = gpu->step(static_cast<std::uint32_t>(counter));
      corrupt += bad ? *bad : 1;
    }
    if (::write(to_child[1], &counter, sizeof counter) == sizeof counter) {
      std::uint64_t echo = 0;
      if (::read(from_child[0], &echo, sizeof echo) == sizeof echo && echo == counter) ++child;
    }
    std::string line = "counter=" + std::to_string(counter) + " child=" + std::to_string(child) +
                       " corrupt=" + std::to_string(corrupt) + " pid=" + std::to_string(::getpid()) +
                       " bytes=" + std::to_string(words * sizeof(std::uint64_t)) +
                       " gpu_bytes=" + std::to_string(gpu ? gpu->bytes() : 0) + "\n";
    (void)write_file_atomic(dir / "status", line, 0644);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

std::optional<WorkloadStatus> parse_status(std::string_view line) {
  WorkloadStatus s;
  int seen = 0;
  for (const auto& kv : split_ws(trim(line))) {
    auto eq = kv.find('=');
    if (eq == std::string::npos) return std::nullopt;
    std::string key = kv.substr(0, eq);
    auto v = parse_int(std::string_view(kv).substr(eq + 1), key);
    if (!v) return std::nullopt;
    auto u = static_cast<std::uint64_t>(*v);
    if (key == "counter") s.counter = u, ++seen;
    else if (key == "child") s.child = u, ++seen;
    else if (key == "corrupt") s.corrupt = u, ++seen;
    else if (key == "pid") s.pid = static_cast<pid_t>(u), ++seen;
    else if (key == "bytes") s.bytes = u, ++seen;
    else if (key == "gpu_bytes") s.gpu_bytes = u;
  }
  if (seen != 5) return std::nullopt;
  return s;
}

std::optional<WorkloadStatus> read_status(const std::filesystem::path& dir) {
  auto text = read_file(dir / "status");
  if (!text) return std::nullopt;
  return parse_status(*text);
}

}  // namespace gpucr::demo
