// Is a pid frozen by a cgroup freezer? The real driver's lock and even its state query block on
// such a process, so the fake must notice it. PID's cgroups come from /proc/PID/cgroup; their
// directories from our own /proc/self/mountinfo:
//   cgroup v1: <freezer mount>/<path>/freezer.state is FROZEN or FREEZING (ancestors included);
//   cgroup v2: <cgroup2 mount>/<path>/cgroup.events says "frozen 1", or cgroup.freeze is 1.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fakecuda.h"

// The directory of cgroup `path` on the mount whose fstype is `fstype` (and, for v1, whose
// super options include `option`). 0 on success.
static int cgroup_dir(const char* fstype, const char* option, const char* path, char* out,
                      size_t n) {
  enum { MOUNTINFO_MAX = 256 * 1024 };
  char* buf = malloc(MOUNTINFO_MAX);
  int rc = -1;
  if (!buf || fc_read_file("/proc/self/mountinfo", buf, MOUNTINFO_MAX) <= 0) goto out;
  for (char *save, *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
    char root[FC_PATH_LEN], mnt[FC_PATH_LEN], fs[64], opts[1024];
    const char* dash = strstr(line, " - ");
    if (!dash || sscanf(line, "%*s %*s %*s %4095s %4095s", root, mnt) != 2 ||
        sscanf(dash + 3, "%63s %*s %1023s", fs, opts) != 2)
      continue;
    if (strcmp(fs, fstype) != 0) continue;
    if (option) {
      char padded[1100], want[80];
      snprintf(padded, sizeof padded, ",%s,", opts);
      snprintf(want, sizeof want, ",%s,", option);
      if (!strstr(padded, want)) continue;
    }
    size_t rlen = strcmp(root, "/") == 0 ? 0 : strlen(root);
    if (rlen && (strncmp(path, root, rlen) != 0 || (path[rlen] && path[rlen] != '/'))) continue;
    snprintf(out, n, "%s%s", mnt, path + rlen);
    rc = 0;
    break;
  }
out:
  free(buf);
  return rc;
}

static int v1_frozen(const char* path) {
  char dir[FC_PATH_LEN], file[FC_PATH_LEN + 32], v[64];
  if (cgroup_dir("cgroup", "freezer", path, dir, sizeof dir) != 0) return 0;
  snprintf(file, sizeof file, "%s/freezer.state", dir);
  if (fc_read_file(file, v, sizeof v) <= 0) return 0;
  return strncmp(v, "FROZEN", 6) == 0 || strncmp(v, "FREEZING", 8) == 0;
}

static int v2_frozen(const char* path) {
  char dir[FC_PATH_LEN], file[FC_PATH_LEN + 32], v[512];
  if (cgroup_dir("cgroup2", NULL, path, dir, sizeof dir) != 0) return 0;
  snprintf(file, sizeof file, "%s/cgroup.events", dir);
  if (fc_read_file(file, v, sizeof v) > 0 && strstr(v, "frozen 1")) return 1;
  snprintf(file, sizeof file, "%s/cgroup.freeze", dir);
  return fc_read_file(file, v, sizeof v) > 0 && v[0] == '1';
}

int fc_pid_frozen(int pid) {
  char path[64], text[8192];
  snprintf(path, sizeof path, "/proc/%d/cgroup", pid);
  if (fc_read_file(path, text, sizeof text) <= 0) return 0;
  for (char *save, *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
    // "hierarchy-id:controller,list:/path"
    char* c1 = strchr(line, ':');
    char* c2 = c1 ? strchr(c1 + 1, ':') : NULL;
    if (!c2) continue;
    *c1 = *c2 = '\0';
    char ctrls[256];
    snprintf(ctrls, sizeof ctrls, ",%s,", c1 + 1);
    if (strcmp(line, "0") == 0 && c1[1] == '\0') {
      if (v2_frozen(c2 + 1)) return 1;
    } else if (strstr(ctrls, ",freezer,") && v1_frozen(c2 + 1)) {
      return 1;
    }
  }
  return 0;
}
