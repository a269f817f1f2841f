// A process tree holding a given amount of patterned anonymous memory, for the benchmark
// (bench/cpu_bench.py) and memory-integrity tests: the parent holds three quarters, one child
// the rest. Each word i of a region holds (i + 1) * 0x9E3779B97F4A7C15 ^ seed (no zero pages,
// nothing CRIU could skip). Once the child has filled its part too, every 100 ms the parent
// checks a 4 MiB window of its own region (all of it every ~20 s per GiB) and rewrites STATUS
// (STATUS.tmp + rename):
//   ready=1 counter=N corrupt=C pid=P mib=M
// The child checks its whole region when it gets SIGUSR1 and exits 3 on corruption.
//
// usage: mem_workload STATUS_FILE MIB
#define _GNU_SOURCE
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>

static uint64_t word(size_t i, uint64_t seed) { return (i + 1) * 0x9E3779B97F4A7C15ULL ^ seed; }

static uint64_t* fill(size_t bytes, uint64_t seed) {
  uint64_t* m = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (m == MAP_FAILED) exit(1);
  for (size_t i = 0; i < bytes / 8; ++i) m[i] = word(i, seed);
  return m;
}

static size_t check(const uint64_t* m, size_t from, size_t words, uint64_t seed) {
  size_t bad = 0;
  for (size_t i = from; i < from + words; ++i) bad += m[i] != word(i, seed);
  return bad;
}

static volatile sig_atomic_t check_requested;
static void on_usr1(int sig) { (void)sig; check_requested = 1; }

int main(int argc, char** argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s STATUS_FILE MIB\n", argv[0]);
    return 2;
  }
  const char* status = argv[1];
  size_t mib = strtoul(argv[2], NULL, 10);
  size_t child_bytes = (mib / 4) << 20, parent_bytes = (mib << 20) - child_bytes;
  int ready[2];
  if (pipe(ready) != 0) return 1;
  if (child_bytes) {
    pid_t kid = fork();
    if (kid == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      signal(SIGUSR1, on_usr1);
      uint64_t* m = fill(child_bytes, 2);
      if (write(ready[1], "r", 1) != 1) _exit(1);
      for (;;) {
        pause();
        if (check_requested && check(m, 0, child_bytes / 8, 2) != 0) _exit(3);
        check_requested = 0;
      }
    }
  }
  uint64_t* m = fill(parent_bytes, 1);
  char r;
  if (child_bytes && read(ready[0], &r, 1) != 1) return 1;  // status says ready=1 once all memory is filled
  close(ready[0]);
  close(ready[1]);
  size_t words = parent_bytes / 8, window = (4u << 20) / 8, at = 0;
  unsigned long counter = 0, corrupt = 0;
  char tmp[4200];
  snprintf(tmp, sizeof tmp, "%s.tmp", status);
  for (;;) {
    ++counter;
    size_t n = words - at < window ? words - at : window;
    corrupt += check(m, at, n, 1);
    at = (at + n) % words;
    FILE* f = fopen(tmp, "w");
    if (f) {
      fprintf(f, "ready=1 counter=%lu corrupt=%lu pid=%d mib=%zu\n", counter, corrupt, getpid(), mib);
      fclose(f);
      rename(tmp, status);
    }
    usleep(100000);
  }
}
