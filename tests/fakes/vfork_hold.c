/* vfork_hold READY RELEASE: a test workload, not a fake. vforks a child that creates READY and
 * then waits (polling every 50 ms) until RELEASE exists, then exits; meanwhile the parent sits in
 * vfork's uninterruptible wait (state D), as a shell or posix_spawn does between vfork and exec.
 * A cgroup freeze in that moment freezes the child and leaves the parent in D, which criu cannot
 * seize (tests/integration/test_containers_vfork.py). Once released the parent sleeps on. The
 * child uses raw system calls only: it shares the parent's memory until it exits. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc != 3) return 2;
  pid_t pid = vfork();
  if (pid < 0) return 1;
  if (pid == 0) {
    long fd = syscall(SYS_openat, AT_FDCWD, argv[1], O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd >= 0) syscall(SYS_close, fd);
    struct timespec tick = {0, 50 * 1000 * 1000};
    while (syscall(SYS_faccessat, AT_FDCWD, argv[2], F_OK) != 0) syscall(SYS_nanosleep, &tick, NULL);
    syscall(SYS_exit, 0);
  }
  for (;;) pause();
}
