// The checkpoint API of the fake libcuda.so.1 (cuCheckpointProcess*), with the semantics measured
// on driver 580 (README.md): RUNNING -lock-> LOCKED -checkpoint-> CHECKPOINTED -restore-> LOCKED
// -unlock-> RUNNING; an illegal transition is 401; a pid that never ran cuInit (or a child
// forked after it) is 3; a pid that does not exist is 304. A call on a process in a frozen cgroup
// is logged to frozen-calls.log and blocks until the cgroup is thawed. Every call is logged to
// calls.log as "<op> <pid> <result> <start> <end>". Faults come from the faults file (fc_faults.c).
//
// Built twice: the normal library exports the cuCheckpointProcess* names; with
// FAKECUDA_NO_CKPT_API (lib-noapi/, a pre-570 driver) only the private fakecuda_* names exist,
// which the fake cuda-checkpoint tool uses like the real tool uses driver internals.
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cuda_abi.h"
#include "fakecuda.h"

#define EXPORT __attribute__((visibility("default")))

#include "cuda_app.h"
CUresult fc_apply_restore_map(fc_state* st, const CUcheckpointRestoreArgs* args);  // fc_remap.c

typedef CUresult (*op_fn)(const char* token, void* arg, const fc_fault* fault);

static int all_zero(const void* p, size_t from, size_t to) {
  const unsigned char* b = p;
  for (size_t i = from; i < to; i++)
    if (b[i]) return 0;
  return 1;
}

static void force_state(const char* token, int state) {
  fc_state st;
  int lock = fc_lock();
  if (fc_state_read(token, &st) == 0) {
    st.state = state;
    fc_state_write(token, &st);
  }
  fc_unlock(lock);
}

// Waits until the process's driver thread has acted on state seq (it must run, as the real
// restore thread must). Gives up only when the process no longer holds its token.
static CUresult wait_ack(int pid, const char* token, unsigned seq) {
  for (int i = 1;; i++) {
    fc_record rec;
    if (fc_record_read(token, &rec) == 0 && (int)(rec.ack - seq) >= 0) return CUDA_SUCCESS;
    char now[FC_TOKEN_LEN];
    if (i % 50 == 0 && (fc_token_of_pid(pid, now) != 0 || strcmp(now, token) != 0))
      return CUDA_ERROR_OPERATING_SYSTEM;
    fc_sleep_ms(2);
  }
}

// The incarnation a state belongs to (README.md, "Incarnations"): criu restores a process as a new
// one (same pid, new start time) whose driver state is what its image holds. When PID's start time
// differs from the state's, wait for its driver thread to announce a new generation (with the seq
// it last acted on, from its restored memory), then adopt it: if a checkpoint left that seq, the
// process is CHECKPOINTED as then.
static void adopt_incarnation(int pid, const char* token) {
  unsigned long long now = fc_pid_starttime(pid);
  fc_state st;
  fc_record rec = {.gen = 0};
  if (!now || fc_state_read(token, &st) != 0 || fc_record_read(token, &rec) != 0) return;
  if (st.start == now && st.gen == rec.gen) return;
  if (st.start != 0 && st.start != now) {  // restored: wait for the announcement (up to 5 s)
    for (int i = 0; i < 2500 && rec.gen == st.gen; i++) {
      fc_sleep_ms(2);
      if (fc_record_read(token, &rec) != 0) rec.gen = st.gen;
    }
  }
  int lock = fc_lock();
  if (fc_state_read(token, &st) == 0 && (st.start != now || st.gen != rec.gen)) {
    fc_state snap;
    if (st.gen != rec.gen && fc_snapshot_read(token, rec.ack, &snap) == 0) st = snap;
    st.start = now;
    st.gen = rec.gen;
    fc_state_write(token, &st);
  }
  fc_unlock(lock);
}

static CUresult call(const char* op, int pid, op_fn fn, void* arg) {
  char token[FC_TOKEN_LEN], result[32];
  double start = fc_now_s();
  CUresult r;
  int found = pid > 0 ? fc_token_of_pid(pid, token) : -1;
  if (pid > 0 && fc_pid_frozen(pid)) {
    fc_log_frozen(op, pid);
    while (found == 0 && fc_pid_frozen(pid) && fc_pid_exists(pid)) fc_sleep_ms(10);
    if (found == 0) found = fc_token_of_pid(pid, token);
  }
  fc_fault fault = {.kind = FC_FAULT_NONE};
  if (found == 0) adopt_incarnation(pid, token);
  if (found == -1) r = CUDA_ERROR_OPERATING_SYSTEM;  // also pid <= 0, as measured
  else if (found != 0) r = CUDA_ERROR_NOT_INITIALIZED;
  else if (!fc_fault_take(op, pid, &fault)) r = fn(token, arg, &fault);
  else if (fault.kind == FC_FAULT_HANG) {
    fc_log_call(op, pid, "hang", start);
    for (;;) pause();
  } else if (fault.kind == FC_FAULT_FAIL) {
    if (fault.set_state >= 0) force_state(token, fault.set_state);
    r = fault.code;
  } else if (fault.kind == FC_FAULT_REQUIRE_INIT && !fakecuda_caller_initialized()) {
    r = CUDA_ERROR_NOT_INITIALIZED;
  } else {
    if (fault.kind == FC_FAULT_SLOW && strcmp(op, "lock") != 0) fc_sleep_ms(fault.ms);
    r = fn(token, arg, &fault);
  }
  if (r == CUDA_SUCCESS && (strcmp(op, "checkpoint") == 0 || strcmp(op, "restore") == 0))
    r = wait_ack(pid, token, *(unsigned*)arg);
  snprintf(result, sizeof result, "%d", r);
  fc_log_call(op, pid, result, start);
  return r;
}

static CUresult do_get_state(const char* token, void* arg, const fc_fault* fault) {
  (void)fault;
  fc_state st;
  if (fc_state_read(token, &st) != 0) return CUDA_ERROR_UNKNOWN;
  *(int*)arg = st.state;
  return CUDA_SUCCESS;
}

// One locked read-modify-write: `from` is the state required, `to` the state set.
static CUresult transition(const char* token, int from, int to, fc_state* st,
                           CUresult (*edit)(fc_state*, const void*), const void* edit_arg) {
  int lock = fc_lock();
  CUresult r = CUDA_SUCCESS;
  if (fc_state_read(token, st) != 0) r = CUDA_ERROR_UNKNOWN;
  else if (st->state != from) r = CUDA_ERROR_ILLEGAL_STATE;
  else if (edit && (r = edit(st, edit_arg)) != CUDA_SUCCESS) {
  } else {
    st->state = to;
    if (fc_state_write(token, st) != 0) r = CUDA_ERROR_OPERATING_SYSTEM;
  }
  fc_unlock(lock);
  return r;
}

static CUresult do_lock(const char* token, void* arg, const fc_fault* fault) {
  fc_state st;
  unsigned timeout = ((const CUcheckpointLockArgs*)arg)->timeoutMs;
  if (fault->kind == FC_FAULT_SLOW) {  // locking takes fault->ms (e.g. a long kernel)
    if (fc_state_read(token, &st) != 0 || st.state != FC_RUNNING) return CUDA_ERROR_ILLEGAL_STATE;
    if (timeout && timeout < fault->ms) {
      fc_sleep_ms(timeout);
      return CUDA_ERROR_TIMEOUT;  // left RUNNING, as documented
    }
    fc_sleep_ms(fault->ms);
  }
  return transition(token, FC_RUNNING, FC_LOCKED, &st, NULL, NULL);
}

static CUresult record_checkpoint_host(fc_state* st, const void* unused) {
  (void)unused;
  fc_gpu_list all;
  if (fc_read_gpus(&all) != 0) return CUDA_ERROR_UNKNOWN;
  st->nhost = all.count;
  for (int i = 0; i < all.count; i++) snprintf(st->host_gpus[i], FC_UUID_LEN, "%s", all.gpu[i].uuid);
  for (int i = 0; i < st->ngpus; i++) {
    const fc_gpu* gpu = fc_find_gpu(&all, st->gpus[i]);
    snprintf(st->names[i], FC_NAME_LEN, "%s", gpu ? gpu->name : "");
  }
  st->seq++;
  return CUDA_SUCCESS;
}

static CUresult do_checkpoint(const char* token, void* arg, const fc_fault* fault) {
  (void)fault;
  fc_state st;
  CUresult r = transition(token, FC_LOCKED, FC_CHECKPOINTED, &st, record_checkpoint_host, NULL);
  if (r == CUDA_SUCCESS) fc_snapshot_write(token, &st);  // what an image taken now holds
  *(unsigned*)arg = st.seq;  // for wait_ack
  return r;
}

static CUresult remap(fc_state* st, const void* args) {
  CUresult r = fc_apply_restore_map(st, args);
  if (r == CUDA_SUCCESS) st->seq++;
  return r;
}

typedef struct {
  unsigned seq;  // first: call() reads it for wait_ack
  const CUcheckpointRestoreArgs* args;
} restore_ctx;

static CUresult do_restore(const char* token, void* arg, const fc_fault* fault) {
  (void)fault;
  fc_state st;
  restore_ctx* ctx = arg;
  CUresult r = transition(token, FC_CHECKPOINTED, FC_LOCKED, &st, remap, ctx->args);
  ctx->seq = st.seq;
  return r;
}

static CUresult do_unlock(const char* token, void* arg, const fc_fault* fault) {
  (void)arg, (void)fault;
  fc_state st;
  return transition(token, FC_LOCKED, FC_RUNNING, &st, NULL, NULL);
}

static CUresult do_restore_tid(const char* token, void* arg, const fc_fault* fault) {
  (void)fault;
  fc_record rec;
  int* out = arg;  // out[0]: the pid on entry, the tid on return
  if (fc_record_read(token, &rec) != 0) return CUDA_ERROR_UNKNOWN;
  int tid = fc_host_tid(out[0], rec.restore_tid);
  if (tid <= 0) return CUDA_ERROR_NOT_INITIALIZED;
  out[0] = tid;
  return CUDA_SUCCESS;
}

static CUresult invalid(const char* op, int pid) {
  char line[16];
  snprintf(line, sizeof line, "%d", CUDA_ERROR_INVALID_VALUE);
  fc_log_call(op, pid, line, fc_now_s());
  return CUDA_ERROR_INVALID_VALUE;
}

EXPORT CUresult fakecuda_cuCheckpointProcessGetState(int pid, int* state) {
  return state ? call("get_state", pid, do_get_state, state) : invalid("get_state", pid);
}

EXPORT CUresult fakecuda_cuCheckpointProcessGetRestoreThreadId(int pid, int* tid) {
  if (!tid) return invalid("get_restore_tid", pid);
  int io = pid;
  CUresult r = call("get_restore_tid", pid, do_restore_tid, &io);
  if (r == CUDA_SUCCESS) *tid = io;
  return r;
}

// The reserved parts of every args struct must be zero; args may be NULL (all zero).
EXPORT CUresult fakecuda_cuCheckpointProcessLock(int pid, void* args) {
  CUcheckpointLockArgs a = {0};
  if (args) memcpy(&a, args, sizeof a);
  return all_zero(&a, 4, sizeof a) ? call("lock", pid, do_lock, &a) : invalid("lock", pid);
}

EXPORT CUresult fakecuda_cuCheckpointProcessCheckpoint(int pid, void* args) {
  unsigned seq = 0;
  if (args && !all_zero(args, 0, sizeof(CUcheckpointCheckpointArgs))) return invalid("checkpoint", pid);
  return call("checkpoint", pid, do_checkpoint, &seq);
}

EXPORT CUresult fakecuda_cuCheckpointProcessRestore(int pid, void* args) {
  CUcheckpointRestoreArgs a = {0};
  if (args) memcpy(&a, args, sizeof a);
  if (!all_zero(&a, 12, sizeof a) || (a.gpuPairsCount && !a.gpuPairs)) return invalid("restore", pid);
  restore_ctx ctx = {0, &a};
  return call("restore", pid, do_restore, &ctx);
}

EXPORT CUresult fakecuda_cuCheckpointProcessUnlock(int pid, void* args) {
  unsigned seq = 0;
  if (args && !all_zero(args, 0, sizeof(CUcheckpointUnlockArgs))) return invalid("unlock", pid);
  return call("unlock", pid, do_unlock, &seq);
}

#ifndef FAKECUDA_NO_CKPT_API
EXPORT CUresult cuCheckpointProcessGetState(int pid, int* state) {
  return fakecuda_cuCheckpointProcessGetState(pid, state);
}
EXPORT CUresult cuCheckpointProcessGetRestoreThreadId(int pid, int* tid) {
  return fakecuda_cuCheckpointProcessGetRestoreThreadId(pid, tid);
}
EXPORT CUresult cuCheckpointProcessLock(int pid, void* args) {
  return fakecuda_cuCheckpointProcessLock(pid, args);
}
EXPORT CUresult cuCheckpointProcessCheckpoint(int pid, void* args) {
  return fakecuda_cuCheckpointProcessCheckpoint(pid, args);
}
EXPORT CUresult cuCheckpointProcessRestore(int pid, void* args) {
  return fakecuda_cuCheckpointProcessRestore(pid, args);
}
EXPORT CUresult cuCheckpointProcessUnlock(int pid, void* args) {
  return fakecuda_cuCheckpointProcessUnlock(pid, args);
}
#endif
