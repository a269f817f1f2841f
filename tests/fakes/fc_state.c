// Per-process files of the fake driver (formats in README.md):
//   state-<token>  key=value lines, API-owned, replaced atomically (tmp + rename), padded with
//                  newlines to FC_STATE_FILE_SIZE bytes: a process that criu dumped while it had
//                  the file open (a driver call reading it) restores only if the file at that
//                  path has the dumped size, and the state word's length changes (running,
//                  checkpointed) while a --leave-running tree runs on:
//                  state=running|locked|checkpointed|failed  seq=N  gpus=UUID,...
//                  ckpt_host_gpus=UUID,...  ckpt_gpu_names=NAME|NAME...  start=N  gen=N
//                  machine=NAME (the gpus file of the machine the process runs on)
//   ckpt-<token>-<seq>  the same, as a checkpoint left it (API-owned, written once)
//   proc-<token>   key=value lines, workload-owned, a fixed-size record rewritten in place with
//                  one pwrite (the workload keeps this file open: the fd is its identity):
//                  token=  nspid=  restore_tid=  ctx=  mem=  ack=  gen=
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fakecuda.h"

static const char* const state_names[] = {"running", "locked", "checkpointed", "failed"};

const char* fc_state_name(int state) {
  return state >= 0 && state <= FC_FAILED ? state_names[state] : "unknown";
}

int fc_state_parse(const char* word) {
  for (int i = 0; i <= FC_FAILED; i++)
    if (strcmp(word, state_names[i]) == 0) return i;
  return -1;
}

// Splits "a<sep>b<sep>c" into at most FC_MAX_GPUS fields of width w; returns the count.
static int split(const char* text, char sep, char* out, size_t w) {
  int n = 0;
  for (const char* p = text; *p && n < FC_MAX_GPUS;) {
    const char* end = strchr(p, sep);
    size_t len = end ? (size_t)(end - p) : strlen(p);
    snprintf(out + (size_t)n * w, w, "%.*s", (int)len, p);
    n++;
    if (!end) break;
    p = end + 1;
  }
  return n;
}

static void join(char* out, size_t n, const char* items, size_t w, int count, char sep) {
  size_t used = 0;
  out[0] = '\0';
  for (int i = 0; i < count && used < n; i++)
    used += (size_t)snprintf(out + used, n - used, "%s%s", i ? (char[]){sep, 0} : "",
                             items + (size_t)i * w);
}

static int read_named(const char* name, fc_state* st) {
  char path[FC_PATH_LEN], text[8192], v[4096];
  if (fc_path(path, sizeof path, name) != 0 || fc_read_file(path, text, sizeof text) <= 0)
    return -1;
  memset(st, 0, sizeof *st);
  if (!fc_kv_get(text, "state", v, sizeof v) || (st->state = fc_state_parse(v)) < 0) return -1;
  st->seq = (unsigned)fc_kv_num(text, "seq", 0);
  if (fc_kv_get(text, "gpus", v, sizeof v) && *v)
    st->ngpus = split(v, ',', &st->gpus[0][0], FC_UUID_LEN);
  if (fc_kv_get(text, "ckpt_host_gpus", v, sizeof v) && *v)
    st->nhost = split(v, ',', &st->host_gpus[0][0], FC_UUID_LEN);
  if (fc_kv_get(text, "ckpt_gpu_names", v, sizeof v) && *v)
    split(v, '|', &st->names[0][0], FC_NAME_LEN);
  st->start = strtoull(fc_kv_get(text, "start", v, sizeof v) ? v : "0", NULL, 10);
  st->gen = strtoull(fc_kv_get(text, "gen", v, sizeof v) ? v : "0", NULL, 10);
  if (fc_kv_get(text, "machine", v, sizeof v)) snprintf(st->machine, sizeof st->machine, "%s", v);
  return 0;
}

static int write_named(const char* name, const fc_state* st) {
  char path[FC_PATH_LEN], text[8192], gpus[1024], host[1024], names[2048];
  if (fc_path(path, sizeof path, name) != 0) return -1;
  join(gpus, sizeof gpus, &st->gpus[0][0], FC_UUID_LEN, st->ngpus, ',');
  join(host, sizeof host, &st->host_gpus[0][0], FC_UUID_LEN, st->nhost, ',');
  join(names, sizeof names, &st->names[0][0], FC_NAME_LEN, st->nhost ? st->ngpus : 0, '|');
  int len = snprintf(text, sizeof text,
                     "state=%s\nseq=%u\ngpus=%s\nckpt_host_gpus=%s\nckpt_gpu_names=%s\nstart=%llu\n"
                     "gen=%llu\nmachine=%s\n",
                     fc_state_name(st->state), st->seq, gpus, host, names, st->start, st->gen, st->machine);
  if (len < 0 || (size_t)len >= sizeof text) return -1;
  if (len < FC_STATE_FILE_SIZE) {  // at most about 3.3 KiB with FC_MAX_GPUS GPUs and names
    memset(text + len, '\n', (size_t)(FC_STATE_FILE_SIZE - len));
    len = FC_STATE_FILE_SIZE;
  }
  return fc_write_atomic(path, text, (size_t)len);
}

int fc_state_read(const char* token, fc_state* st) {
  char name[64];
  snprintf(name, sizeof name, "state-%s", token);
  return read_named(name, st);
}

int fc_state_write(const char* token, const fc_state* st) {
  char name[64];
  snprintf(name, sizeof name, "state-%s", token);
  return write_named(name, st);
}

int fc_snapshot_read(const char* token, unsigned seq, fc_state* st) {
  char name[64];
  snprintf(name, sizeof name, "ckpt-%s-%u", token, seq);
  return read_named(name, st);
}

int fc_snapshot_write(const char* token, const fc_state* st) {
  char name[64];
  snprintf(name, sizeof name, "ckpt-%s-%u", token, st->seq);
  return write_named(name, st);
}

void fc_record_format(const fc_record* rec, char buf[FC_RECORD_SIZE]) {
  // Fixed-width numbers keep the record's size constant, so one pwrite replaces it whole.
  memset(buf, ' ', FC_RECORD_SIZE);
  int len = snprintf(buf, FC_RECORD_SIZE,
                     "token=%s\nnspid=%010d\nrestore_tid=%010d\nctx=%d\nmem=%020llu\nack=%010u\n"
                     "gen=%020llu\n",
                     rec->token, rec->nspid, rec->restore_tid, rec->ctx, rec->mem, rec->ack,
                     rec->gen);
  buf[len] = ' ';
  buf[FC_RECORD_SIZE - 1] = '\n';
}

int fc_record_read(const char* token, fc_record* rec) {
  char path[FC_PATH_LEN], name[64], a[FC_RECORD_SIZE + 1], b[FC_RECORD_SIZE + 1];
  snprintf(name, sizeof name, "proc-%s", token);
  if (fc_path(path, sizeof path, name) != 0) return -1;
  // The workload rewrites the record in place: read until two reads agree (no torn record).
  for (int tries = 0; tries < 20; tries++) {
    if (fc_read_file(path, a, sizeof a) <= 0 || fc_read_file(path, b, sizeof b) <= 0) return -1;
    if (strcmp(a, b) != 0) continue;
    memset(rec, 0, sizeof *rec);
    if (!fc_kv_get(a, "token", rec->token, sizeof rec->token)) return -1;
    rec->nspid = (int)fc_kv_num(a, "nspid", -1);
    rec->restore_tid = (int)fc_kv_num(a, "restore_tid", 0);
    rec->ctx = (int)fc_kv_num(a, "ctx", 0);
    rec->mem = (unsigned long long)fc_kv_num(a, "mem", 0);
    rec->ack = (unsigned)fc_kv_num(a, "ack", 0);
    char v[32];
    rec->gen = strtoull(fc_kv_get(a, "gen", v, sizeof v) ? v : "0", NULL, 10);
    return 0;
  }
  return -1;
}
