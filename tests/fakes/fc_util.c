// Small helpers of the fake CUDA stack: the state directory, atomic files, key=value text,
// GPU UUIDs, time, random tokens and the global lock.
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fakecuda.h"

const char* fc_dir(void) {
  const char* d = getenv("FAKE_CUDA_DIR");
  return d && *d ? d : "/run/fake-cuda";
}

int fc_path(char* out, size_t n, const char* name) {
  int len = snprintf(out, n, "%s/%s", fc_dir(), name);
  return len < 0 || (size_t)len >= n ? -1 : 0;
}

int fc_read_file(const char* path, char* buf, size_t n) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  size_t got = 0;
  while (got + 1 < n) {
    ssize_t r = read(fd, buf + got, n - 1 - got);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    got += (size_t)r;
  }
  close(fd);
  buf[got] = '\0';
  return (int)got;
}

int fc_write_atomic(const char* path, const char* data, size_t len) {
  char tmp[FC_PATH_LEN];
  snprintf(tmp, sizeof tmp, "%s.tmp.%d.%ld", path, (int)getpid(), (long)gettid());
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return -1;
  ssize_t w = write(fd, data, len);
  close(fd);
  if (w != (ssize_t)len || rename(tmp, path) != 0) {
    unlink(tmp);
    return -1;
  }
  return 0;
}

void fc_append_line(const char* name, const char* line) {
  char path[FC_PATH_LEN];
  if (fc_path(path, sizeof path, name) != 0) return;
  int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return;
  // One write per line: O_APPEND keeps concurrent writers' lines whole.
  ssize_t w = write(fd, line, strlen(line));
  (void)w;
  close(fd);
}

int fc_kv_get(const char* text, const char* key, char* out, size_t n) {
  size_t klen = strlen(key);
  for (const char* p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
    if (strncmp(p, key, klen) == 0 && p[klen] == '=') {
      const char* v = p + klen + 1;
      size_t vlen = strcspn(v, "\n");
      if (vlen >= n) vlen = n - 1;
      memcpy(out, v, vlen);
      out[vlen] = '\0';
      return 1;
    }
  }
  return 0;
}

long long fc_kv_num(const char* text, const char* key, long long dflt) {
  char v[64];
  if (!fc_kv_get(text, key, v, sizeof v)) return dflt;
  char* end;
  long long x = strtoll(v, &end, 10);
  return end == v ? dflt : x;
}

static int hexval(int c) {
  if (c >= '0' && c <= '9') return c - '0';
  c = tolower(c);
  return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

int fc_uuid_parse(const char* text, unsigned char out[16]) {
  const char* p = strncmp(text, "GPU-", 4) == 0 ? text + 4 : text;
  for (int i = 0; i < 16; i++) {
    if (*p == '-') p++;
    int hi = hexval((unsigned char)p[0]), lo = hi < 0 ? -1 : hexval((unsigned char)p[1]);
    if (hi < 0 || lo < 0) return -1;
    out[i] = (unsigned char)(hi << 4 | lo);
    p += 2;
  }
  return *p == '\0' || isspace((unsigned char)*p) || *p == ',' || *p == '=' ? 0 : -1;
}

void fc_uuid_format(const unsigned char in[16], char out[FC_UUID_LEN]) {
  char* p = out + sprintf(out, "GPU-");
  for (int i = 0; i < 16; i++) {
    if (i == 4 || i == 6 || i == 8 || i == 10) *p++ = '-';
    p += sprintf(p, "%02x", in[i]);
  }
}

void fc_sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

long long fc_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

double fc_now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void fc_random_token(char out[FC_TOKEN_LEN]) {
  unsigned char b[8];
  if (getrandom(b, sizeof b, 0) != (ssize_t)sizeof b) {
    unsigned long long x = (unsigned long long)fc_now_ms() ^ ((unsigned long long)getpid() << 32);
    memcpy(b, &x, sizeof b);
  }
  for (int i = 0; i < 8; i++) sprintf(out + 2 * i, "%02x", b[i]);
}

unsigned long long fc_random_gen(void) {
  char t[FC_TOKEN_LEN];
  fc_random_token(t);
  unsigned long long g = strtoull(t, NULL, 16);
  return g ? g : 1;
}

int fc_lock(void) {
  char path[FC_PATH_LEN];
  if (fc_path(path, sizeof path, ".lock") != 0) return -1;
  mkdir(fc_dir(), 0755);
  int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return -1;
  while (flock(fd, LOCK_EX) != 0) {
    if (errno != EINTR) {
      close(fd);
      return -1;
    }
  }
  return fd;
}

void fc_unlock(int fd) {
  if (fd >= 0) close(fd);  // closing the only fd of the open file drops the flock
}
