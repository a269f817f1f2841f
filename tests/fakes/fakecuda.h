// Internals shared by the fake libcuda.so.1 and libnvidia-ml.so.1 (hidden; not part of any ABI).
// Everything the fakes know lives in files under $FAKE_CUDA_DIR so that it survives a criu
// dump/restore of the workloads; README.md documents every file format.
#pragma once

#include <stddef.h>

#define FC_MAX_GPUS 16
#define FC_UUID_LEN 48   // "GPU-" + 36 characters + NUL, rounded up
#define FC_NAME_LEN 96   // NVML_DEVICE_NAME_V2_BUFFER_SIZE
#define FC_STATE_FILE_SIZE 4096  // state-<token> and ckpt-<token>-<seq> files (fc_state.c)
#define FC_TOKEN_LEN 17  // 16 hex digits + NUL
#define FC_PATH_LEN 4096

// ---- machine GPUs ($FAKE_CUDA_DIR/gpus, or the file $FAKE_CUDA_GPUS names) ---------------------
typedef struct {
  char uuid[FC_UUID_LEN];
  char name[FC_NAME_LEN];
  unsigned long long memory;  // bytes
  unsigned minor;             // /dev/nvidiaN
  int mig;                    // "mig" flag: MIG mode enabled
  char pci[32];               // "00000000:BB:00.0"
} fc_gpu;

typedef struct {
  int count;
  fc_gpu gpu[FC_MAX_GPUS];
} fc_gpu_list;

#define FC_MACHINE_LEN 64
// The gpus file of the machine the caller runs on: $FAKE_CUDA_GPUS when it is a plain file name
// (no '/', at most FC_MACHINE_LEN - 1 characters) in $FAKE_CUDA_DIR, else "gpus". A test sets
// it for a "destination" gpucr: the same state dir, other GPUs.
const char* fc_machine(void);
// Reads the caller's gpus file (default: one H100 when the file is missing). 0, or -1 when
// unreadable.
int fc_read_gpus(fc_gpu_list* out);
// The same for a named machine ("" or NULL: the caller's).
int fc_read_gpus_of(const char* machine, fc_gpu_list* out);
const fc_gpu* fc_find_gpu(const fc_gpu_list* list, const char* uuid);
// Applies CUDA_VISIBLE_DEVICES (indices or UUIDs/UUID prefixes, cut at the first bad entry).
void fc_visible_gpus(const fc_gpu_list* all, fc_gpu_list* out);

// ---- paths, files, small helpers (fc_util.c) --------------------------------------------------
const char* fc_dir(void);  // $FAKE_CUDA_DIR, else /run/fake-cuda
int fc_path(char* out, size_t n, const char* name);  // fc_dir() + "/" + name; -1 if too long
int fc_read_file(const char* path, char* buf, size_t n);  // NUL-terminated; bytes or -1
int fc_write_atomic(const char* path, const char* data, size_t len);  // tmp + rename
void fc_append_line(const char* name, const char* line);  // O_APPEND to fc_dir()/name
// Finds "key=" at a line start in text; copies the value (to end of line). 1 found, 0 not.
int fc_kv_get(const char* text, const char* key, char* out, size_t n);
long long fc_kv_num(const char* text, const char* key, long long dflt);
int fc_uuid_parse(const char* text, unsigned char out[16]);  // "GPU-..." or bare; 0 or -1
void fc_uuid_format(const unsigned char in[16], char out[FC_UUID_LEN]);
void fc_sleep_ms(long ms);
long long fc_now_ms(void);
double fc_now_s(void);  // CLOCK_MONOTONIC in seconds (Python's time.monotonic())
void fc_random_token(char out[FC_TOKEN_LEN]);
unsigned long long fc_random_gen(void);  // non-zero
int fc_lock(void);  // exclusive flock on fc_dir()/.lock; returns the fd (or -1)
void fc_unlock(int fd);

// ---- per-process state ------------------------------------------------------------------------
// state-<token>: written by the checkpoint-API side only (under fc_lock, tmp + rename), read by
// anyone without a lock. proc-<token>: written in place by the workload only (one pwrite of a
// fixed-size record); the workload keeps it open and that open fd is its identity.
enum { FC_RUNNING = 0, FC_LOCKED = 1, FC_CHECKPOINTED = 2, FC_FAILED = 3 };

typedef struct {
  int state;
  unsigned seq;  // bumped by checkpoint and restore; the workload's driver thread acks it
  int ngpus;
  char gpus[FC_MAX_GPUS][FC_UUID_LEN];  // the process's devices, ordinal order
  int nhost;
  char host_gpus[FC_MAX_GPUS][FC_UUID_LEN];  // all GPUs of the machine at checkpoint
  char names[FC_MAX_GPUS][FC_NAME_LEN];      // names of `gpus` at checkpoint
  unsigned long long start;  // start time (the API's view) of the incarnation it belongs to; 0 unknown
  unsigned long long gen;    // generation of the incarnation it belongs to (fc_record.gen)
  char machine[FC_MACHINE_LEN];  // the gpus file of the machine it runs on (set by cuInit and restore)
} fc_state;

typedef struct {
  char token[FC_TOKEN_LEN];
  int nspid;        // innermost NSpid at cuInit
  int restore_tid;  // innermost tid of the driver ("restore") thread
  int ctx;          // 1 once a context exists (NVML lists only those)
  unsigned long long mem;
  unsigned ack;     // last state seq the driver thread has acted on
  unsigned long long gen;    // random, renewed by the driver thread when criu restored the process
} fc_record;

#define FC_RECORD_SIZE 256

const char* fc_state_name(int state);
int fc_state_parse(const char* word);
int fc_state_read(const char* token, fc_state* st);  // 0 or -1
int fc_state_write(const char* token, const fc_state* st);
// ckpt-<token>-<seq>: the state a checkpoint left (read when a criu-restored incarnation adopts it).
int fc_snapshot_read(const char* token, unsigned seq, fc_state* st);
int fc_snapshot_write(const char* token, const fc_state* st);
void fc_record_format(const fc_record* rec, char buf[FC_RECORD_SIZE]);
int fc_record_read(const char* token, fc_record* rec);  // 0 or -1

// ---- /proc scanning (fc_procscan.c) ----------------------------------------------------------
int fc_pid_exists(int pid);
int fc_nspid(int pid);  // innermost NSpid of /proc/PID/status; -1 when unknown
// Start time of PID (/proc/PID/stat field 22; 0 when unknown). criu restores a process as a new
// one: same pid, new start time. pid 0: this process.
unsigned long long fc_pid_starttime(int pid);
// Maps a pid to its fake-CUDA token: 0 found; -1 no such pid; -2 no proc-* fd of this process
// (never initialized, or a forked child that only inherited the fd).
int fc_token_of_pid(int pid, char token[FC_TOKEN_LEN]);
int fc_host_tid(int pid, int ns_tid);  // the tid (our view) of PID's thread ns_tid; -1
typedef struct {
  int pid;
  char token[FC_TOKEN_LEN];
} fc_live;
int fc_live_processes(fc_live* out, int max);  // every live fake-CUDA process; count

// ---- freezer (fc_freezer.c) -------------------------------------------------------------------
// 1 when PID's cgroup v1 freezer is FROZEN/FREEZING or its cgroup v2 is frozen; else 0.
int fc_pid_frozen(int pid);

// ---- faults and logs (fc_faults.c) ------------------------------------------------------------
enum { FC_FAULT_NONE, FC_FAULT_FAIL, FC_FAULT_HANG, FC_FAULT_SLOW, FC_FAULT_REQUIRE_INIT };
typedef struct {
  int kind;
  int code;       // FAIL: the CUresult to return
  long ms;        // SLOW: delay
  int set_state;  // FAIL: state the process is left in (-1: unchanged)
} fc_fault;
// Finds the first faults line matching op and pid (consuming it when it says "once").
int fc_fault_take(const char* op, int pid, fc_fault* out);
// calls.log line "<op> <pid> <result> <start> <end>": start/end are fc_now_s() when the call began
// and when it is logged.
void fc_log_call(const char* op, int pid, const char* result, double start);
void fc_log_frozen(const char* op, int pid);
