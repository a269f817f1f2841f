// The fake machine's GPUs: parses $FAKE_CUDA_DIR/gpus (or the file $FAKE_CUDA_GPUS names: another
// machine) and applies CUDA_VISIBLE_DEVICES.
//
// gpus file, one GPU per line ('#' starts a comment; blank lines are ignored):
//   UUID NAME MEMORY_BYTES MINOR [mig] [pci=DOMAIN:BUS:DEV.FN]
// NAME is either "double quoted" or one word whose underscores stand for spaces
// (NVIDIA_H100_80GB_HBM3). An empty file is a machine without GPUs; a missing file is a machine
// with one H100 (FC_DEFAULT_GPU below).
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fakecuda.h"

#define FC_DEFAULT_GPU \
  "GPU-00000000-0000-4000-8000-000000000000 \"NVIDIA H100 80GB HBM3\" 85520809984 0\n"

// Copies the next whitespace-separated (or "quoted") field of *p into out; 0 at end of line.
static int next_field(const char** p, char* out, size_t n, int* quoted) {
  const char* s = *p;
  while (*s == ' ' || *s == '\t') s++;
  if (*s == '\0' || *s == '\n' || *s == '#') return 0;
  *quoted = *s == '"';
  const char* end;
  if (*quoted) {
    s++;
    end = strchr(s, '"');
    if (!end) end = s + strcspn(s, "\n");
  } else {
    end = s + strcspn(s, " \t\n#");
  }
  size_t len = (size_t)(end - s) < n - 1 ? (size_t)(end - s) : n - 1;
  memcpy(out, s, len);
  out[len] = '\0';
  *p = *quoted && *end == '"' ? end + 1 : end;
  return 1;
}

static int parse_line(const char* line, fc_gpu* g) {
  char f[FC_NAME_LEN];
  int quoted = 0;
  memset(g, 0, sizeof *g);
  if (!next_field(&line, g->uuid, sizeof g->uuid, &quoted)) return 0;  // blank or comment
  if (!next_field(&line, g->name, sizeof g->name, &quoted)) return -1;
  if (!quoted)
    for (char* c = g->name; *c; c++)
      if (*c == '_') *c = ' ';
  if (!next_field(&line, f, sizeof f, &quoted)) return -1;
  g->memory = strtoull(f, NULL, 10);
  if (!next_field(&line, f, sizeof f, &quoted)) return -1;
  g->minor = (unsigned)strtoul(f, NULL, 10);
  snprintf(g->pci, sizeof g->pci, "00000000:%02X:00.0", 0x10 + g->minor);
  while (next_field(&line, f, sizeof f, &quoted)) {
    if (strcmp(f, "mig") == 0) g->mig = 1;
    else if (strncmp(f, "pci=", 4) == 0) snprintf(g->pci, sizeof g->pci, "%s", f + 4);
  }
  unsigned char raw[16];
  return fc_uuid_parse(g->uuid, raw) == 0 ? 1 : -1;
}

const char* fc_machine(void) {
  const char* m = getenv("FAKE_CUDA_GPUS");
  if (!m || !*m || strchr(m, '/') || strlen(m) >= FC_MACHINE_LEN || strcmp(m, ".") == 0 || strcmp(m, "..") == 0)
    return "gpus";
  return m;
}

int fc_read_gpus(fc_gpu_list* out) { return fc_read_gpus_of(NULL, out); }

int fc_read_gpus_of(const char* machine, fc_gpu_list* out) {
  char buf[16 * 1024];
  char path[FC_PATH_LEN];
  out->count = 0;
  if (fc_path(path, sizeof path, machine && *machine ? machine : fc_machine()) != 0) return -1;
  if (fc_read_file(path, buf, sizeof buf) < 0) {
    if (errno != ENOENT) return -1;
    snprintf(buf, sizeof buf, "%s", FC_DEFAULT_GPU);
  }
  for (char* line = buf; line && *line; line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
    if (out->count == FC_MAX_GPUS) break;
    int r = parse_line(line, &out->gpu[out->count]);
    if (r < 0) return -1;
    out->count += r;
  }
  return 0;
}

const fc_gpu* fc_find_gpu(const fc_gpu_list* list, const char* uuid) {
  unsigned char want[16], have[16];
  if (fc_uuid_parse(uuid, want) != 0) return NULL;
  for (int i = 0; i < list->count; i++)
    if (fc_uuid_parse(list->gpu[i].uuid, have) == 0 && memcmp(want, have, 16) == 0)
      return &list->gpu[i];
  return NULL;
}

// One CUDA_VISIBLE_DEVICES entry: an index, or a unique prefix of a UUID ("GPU-8a2c").
static int resolve_entry(const fc_gpu_list* all, const char* e) {
  if (*e && strspn(e, "0123456789") == strlen(e)) {
    long i = strtol(e, NULL, 10);
    return i < all->count ? (int)i : -1;
  }
  int found = -1;
  for (int i = 0; i < all->count; i++) {
    if (strncasecmp(all->gpu[i].uuid, e, strlen(e)) == 0) {
      if (found >= 0) return -1;
      found = i;
    }
  }
  return found;
}

void fc_visible_gpus(const fc_gpu_list* all, fc_gpu_list* out) {
  const char* env = getenv("CUDA_VISIBLE_DEVICES");
  if (!env) {
    *out = *all;
    return;
  }
  out->count = 0;
  int used[FC_MAX_GPUS] = {0};
  char list[1024];
  snprintf(list, sizeof list, "%s", env);
  for (char *save, *e = strtok_r(list, ",", &save); e; e = strtok_r(NULL, ",", &save)) {
    while (isspace((unsigned char)*e)) e++;
    int i = resolve_entry(all, e);
    if (i < 0 || used[i]) break;  // like the driver: the list ends at the first invalid entry
    used[i] = 1;
    out->gpu[out->count++] = all->gpu[i];
  }
}
