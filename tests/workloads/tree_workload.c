// A process tree for checkpoint/restore tests: the parent counts, one child echoes the count
// back over a pipe, another child counts on its own; the parent has a second thread and keeps a
// file open. Every 50 ms the parent rewrites STATUS with
//   counter=N child=M thread=T pid=P file_ok=0|1
// (atomically: STATUS.tmp + rename). file_ok says the open file still reads back what was written.
//
// usage: tree_workload STATUS_FILE [EXIT_AFTER_COUNTS]
//   EXIT_AFTER_COUNTS: exit with status 7 once the counter reaches it (for exit-status tests).
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

static volatile unsigned long thread_ticks;

static void* ticker(void* arg) {
  (void)arg;
  for (;;) {
    __atomic_add_fetch(&thread_ticks, 1, __ATOMIC_RELAXED);
    usleep(10000);
  }
  return NULL;
}

int main(int argc, char** argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s STATUS_FILE [EXIT_AFTER_COUNTS]\n", argv[0]);
    return 2;
  }
  const char* status = argv[1];
  unsigned long exit_after = argc > 2 ? strtoul(argv[2], NULL, 10) : 0;
  int to_child[2], from_child[2];
  if (pipe(to_child) || pipe(from_child)) return 1;
  pid_t echo = fork();
  if (echo == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    unsigned long v;
    while (read(to_child[0], &v, sizeof v) == sizeof v) {
      if (write(from_child[1], &v, sizeof v) != sizeof v) break;
    }
    _exit(0);
  }
  pid_t idle = fork();
  if (idle == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    for (;;) pause();
  }
  pthread_t t;
  pthread_create(&t, NULL, ticker, NULL);

  char path[4096];
  snprintf(path, sizeof path, "%s.data", status);
  FILE* data = fopen(path, "w+");
  if (!data) return 1;
  fputs("gpucr tree workload data\n", data);
  fflush(data);

  unsigned long counter = 0, child = 0;
  for (;;) {
    ++counter;
    if (write(to_child[1], &counter, sizeof counter) == sizeof counter) {
      unsigned long back = 0;
      if (read(from_child[0], &back, sizeof back) == sizeof back && back == counter) ++child;
    }
    char buf[64] = {0};
    rewind(data);
    int file_ok = fgets(buf, sizeof buf, data) && strcmp(buf, "gpucr tree workload data\n") == 0;
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", status);
    FILE* f = fopen(tmp, "w");
    if (f) {
      fprintf(f, "counter=%lu child=%lu thread=%lu pid=%d file_ok=%d\n", counter, child,
              __atomic_load_n(&thread_ticks, __ATOMIC_RELAXED), getpid(), file_ok);
      fclose(f);
      rename(tmp, status);
    }
    if (exit_after && counter >= exit_after) return 7;
    usleep(50000);
  }
}
