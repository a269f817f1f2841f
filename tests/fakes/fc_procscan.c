// Finds fake-CUDA processes through /proc: a process is one when it holds an open fd on
// $FAKE_CUDA_DIR/proc-<token> (compared by device and inode, so a path seen through another
// mount namespace still matches) and its innermost NSpid equals the one recorded at cuInit (a
// child forked after cuInit inherits the fd but is not a CUDA process).
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fakecuda.h"

int fc_pid_exists(int pid) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d", pid);
  struct stat st;
  return pid > 0 && stat(path, &st) == 0;
}

static int last_nspid(const char* status_path) {
  char text[8192], line[1024];
  if (fc_read_file(status_path, text, sizeof text) <= 0) return -1;
  const char* p = strstr(text, "\nNSpid:");
  if (!p) return -1;
  snprintf(line, sizeof line, "%.*s", (int)strcspn(p + 7, "\n"), p + 7);
  int last = -1;
  for (char *save, *t = strtok_r(line, " \t", &save); t; t = strtok_r(NULL, " \t", &save))
    last = atoi(t);
  return last;
}

unsigned long long fc_pid_starttime(int pid) {
  char path[64], text[4096];
  if (pid) snprintf(path, sizeof path, "/proc/%d/stat", pid);
  else snprintf(path, sizeof path, "/proc/self/stat");
  if (fc_read_file(path, text, sizeof text) <= 0) return 0;
  const char* p = strrchr(text, ')');  // comm may hold spaces and parentheses
  for (int field = 2; p && field < 22; field++) p = strchr(p + 1, ' ');
  return p ? strtoull(p + 1, NULL, 10) : 0;
}

int fc_nspid(int pid) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/status", pid);
  return last_nspid(path);
}

// The token named by fd link `target` if it is one of our proc-<token> files, else 0.
static int token_of_link(const char* fdpath, const char* target, char token[FC_TOKEN_LEN]) {
  const char* base = strrchr(target, '/');
  base = base ? base + 1 : target;
  if (strncmp(base, "proc-", 5) != 0 || strlen(base + 5) != FC_TOKEN_LEN - 1) return 0;
  char ours[FC_PATH_LEN];
  struct stat a, b;
  if (fc_path(ours, sizeof ours, base) != 0 || stat(fdpath, &a) != 0 || stat(ours, &b) != 0)
    return 0;
  if (a.st_dev != b.st_dev || a.st_ino != b.st_ino) return 0;
  snprintf(token, FC_TOKEN_LEN, "%s", base + 5);
  return 1;
}

int fc_token_of_pid(int pid, char token[FC_TOKEN_LEN]) {
  char dirpath[64], fdpath[128], target[FC_PATH_LEN];
  if (!fc_pid_exists(pid)) return -1;
  snprintf(dirpath, sizeof dirpath, "/proc/%d/fd", pid);
  DIR* d = opendir(dirpath);
  if (!d) return fc_pid_exists(pid) ? -2 : -1;
  int nspid = fc_nspid(pid), found = -2;
  for (struct dirent* e; found != 0 && (e = readdir(d)) != NULL;) {
    if (!isdigit((unsigned char)e->d_name[0])) continue;
    snprintf(fdpath, sizeof fdpath, "%s/%s", dirpath, e->d_name);
    ssize_t n = readlink(fdpath, target, sizeof target - 1);
    if (n <= 0) continue;
    target[n] = '\0';
    fc_record rec;
    if (token_of_link(fdpath, target, token) && fc_record_read(token, &rec) == 0 &&
        rec.nspid == nspid && nspid > 0)
      found = 0;
  }
  closedir(d);
  return found;
}

int fc_host_tid(int pid, int ns_tid) {
  char dirpath[64], path[128];
  snprintf(dirpath, sizeof dirpath, "/proc/%d/task", pid);
  DIR* d = opendir(dirpath);
  if (!d) return -1;
  int found = -1;
  for (struct dirent* e; found < 0 && (e = readdir(d)) != NULL;) {
    if (!isdigit((unsigned char)e->d_name[0])) continue;
    snprintf(path, sizeof path, "%s/%s/status", dirpath, e->d_name);
    if (last_nspid(path) == ns_tid) found = atoi(e->d_name);
  }
  closedir(d);
  return found;
}

int fc_live_processes(fc_live* out, int max) {
  DIR* d = opendir("/proc");
  if (!d) return 0;
  int n = 0;
  for (struct dirent* e; n < max && (e = readdir(d)) != NULL;) {
    if (!isdigit((unsigned char)e->d_name[0])) continue;
    int pid = atoi(e->d_name);
    if (fc_token_of_pid(pid, out[n].token) == 0) out[n++].pid = pid;
  }
  closedir(d);
  return n;
}
