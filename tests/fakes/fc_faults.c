// Fault injection and call logs of the fake checkpoint API.
//
// $FAKE_CUDA_DIR/faults, one rule per line ('#' comments), the first matching line wins:
//   <op> <action> [arg] [pid=N] [state=S] [once]
//   op:     get_state | lock | checkpoint | restore | unlock | get_restore_tid | any
//   action: fail [code]    return code (default 999 CUDA_ERROR_UNKNOWN); with state=S the
//                          process is left in S (running|locked|checkpointed|failed)
//           hang           never return (the call is logged as "hang" first)
//           slow <ms>      take ms longer; a lock whose timeoutMs is shorter returns 909
//           illegal-once   return 401 CUDA_ERROR_ILLEGAL_STATE once (= "fail 401 once")
//           require-init   return 3 unless the calling process called cuInit (persistence
//                          mode off: the header asks for cuInit before these calls)
//   pid=N   only calls whose pid argument is N;  once: delete the line after its first use.
// Lines that don't parse are appended to faults-errors.log (at every call that reads them).
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fakecuda.h"

typedef struct {
  char op[32];
  fc_fault f;
  int pid;
  int once;
} rule;

static int parse_rule(char* line, rule* r) {
  char* hash = strchr(line, '#');
  if (hash) *hash = '\0';
  memset(r, 0, sizeof *r);
  r->f.set_state = -1;
  char *save, *op = strtok_r(line, " \t", &save), *action = strtok_r(NULL, " \t", &save);
  if (!op) return 0;
  if (!action) return -1;
  static const char* const ops[] = {"get_state", "lock",  "checkpoint",      "restore",
                                    "unlock",    "any",   "get_restore_tid", NULL};
  int known = 0;
  for (int i = 0; ops[i]; i++) known |= strcmp(op, ops[i]) == 0;
  if (!known) return -1;
  snprintf(r->op, sizeof r->op, "%s", op);
  if (strcmp(action, "fail") == 0) r->f = (fc_fault){FC_FAULT_FAIL, 999, 0, -1};
  else if (strcmp(action, "hang") == 0) r->f.kind = FC_FAULT_HANG;
  else if (strcmp(action, "slow") == 0) r->f.kind = FC_FAULT_SLOW;
  else if (strcmp(action, "illegal-once") == 0) r->f = (fc_fault){FC_FAULT_FAIL, 401, 0, -1};
  else if (strcmp(action, "require-init") == 0) r->f.kind = FC_FAULT_REQUIRE_INIT;
  else return -1;
  r->once = strcmp(action, "illegal-once") == 0;
  int have_num = 0;
  for (char* t; (t = strtok_r(NULL, " \t", &save)) != NULL;) {
    if (strncmp(t, "pid=", 4) == 0) r->pid = atoi(t + 4);
    else if (strncmp(t, "state=", 6) == 0 && (r->f.set_state = fc_state_parse(t + 6)) < 0) return -1;
    else if (strcmp(t, "once") == 0) r->once = 1;
    else if (!have_num && strspn(t, "0123456789") == strlen(t)) {
      have_num = 1;
      if (r->f.kind == FC_FAULT_SLOW) r->f.ms = atol(t);
      else r->f.code = atoi(t);
    } else if (strncmp(t, "pid=", 4) != 0 && strncmp(t, "state=", 6) != 0) {
      return -1;
    }
  }
  if (r->f.kind == FC_FAULT_SLOW && !have_num) return -1;
  return 1;
}

// Rewrites the faults file without line number `skip` (0-based).
static void drop_line(const char* path, const char* text, int skip) {
  char out[64 * 1024];
  size_t used = 0;
  int i = 0;
  for (const char* p = text; *p; i++) {
    size_t len = strcspn(p, "\n");
    if (i != skip && used + len + 2 < sizeof out) {
      memcpy(out + used, p, len);
      used += len;
      out[used++] = '\n';
    }
    p += len + (p[len] == '\n');
  }
  fc_write_atomic(path, out, used);
}

int fc_fault_take(const char* op, int pid, fc_fault* out) {
  char path[FC_PATH_LEN], text[64 * 1024];
  out->kind = FC_FAULT_NONE;
  if (fc_path(path, sizeof path, "faults") != 0) return 0;
  int lock = fc_lock();
  if (fc_read_file(path, text, sizeof text) > 0) {
    int i = 0, match = -1;
    for (const char* p = text; *p; p += strcspn(p, "\n") + (p[strcspn(p, "\n")] == '\n'), i++) {
      char line[1024];
      rule r;
      snprintf(line, sizeof line, "%.*s", (int)strcspn(p, "\n"), p);
      int ok = parse_rule(line, &r);
      if (ok < 0) {
        char bad[1100];
        snprintf(bad, sizeof bad, "%.*s\n", (int)strcspn(p, "\n"), p);
        fc_append_line("faults-errors.log", bad);
      }
      if (ok <= 0 || (strcmp(r.op, "any") != 0 && strcmp(r.op, op) != 0)) continue;
      if ((r.pid && r.pid != pid) || match >= 0) continue;  // keep going: log every bad line
      *out = r.f;
      match = r.once ? i : -2;
    }
    if (match >= 0) drop_line(path, text, match);
  }
  fc_unlock(lock);
  return out->kind != FC_FAULT_NONE;
}

void fc_log_call(const char* op, int pid, const char* result, double start) {
  char line[256];
  snprintf(line, sizeof line, "%s %d %s %.6f %.6f\n", op, pid, result, start, fc_now_s());
  fc_append_line("calls.log", line);
}

void fc_log_frozen(const char* op, int pid) {
  char line[256];
  snprintf(line, sizeof line, "%s %d\n", op, pid);
  fc_append_line("frozen-calls.log", line);
}
