// cuInit of the fake libcuda.so.1 and the per-process driver state. cuInit registers the
// process: it writes state-<token> and proc-<token>, keeps proc-<token> open (its identity across criu dump/restore, also under new host pids), opens
// fake device files ($FAKE_CUDA_DIR/dev/nvidiactl, nvidia-uvm, nvidia<minor> per GPU) and starts
// the driver ("restore") thread. That thread follows the state the checkpoint API writes: on
// checkpoint it closes the device files, on restore it reopens them for the (possibly remapped)
// GPUs, and it acknowledges each step in proc-<token>, as the real driver needs the process's
// restore thread to run. Devices, contexts and memory are in cuda_device.c.
//
// Incarnations: criu restores a process as a new one (same pid, new start time) whose memory is
// that of the image, while state-<token> may have moved on (an image taken with --leave-running:
// the original was restored and unlocked, then killed). When its own start time changed (as it
// sees it: criu may put it in a time namespace), the driver thread announces a new random
// generation in proc-<token> (with the seq it last acted on, from its restored memory) and acts on
// no state until the checkpoint API has adopted it (state-<token> gen= equal to its own).
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cuda_abi.h"
#include "cuda_app.h"
#include "fakecuda.h"

#define EXPORT __attribute__((visibility("default")))

static struct {
  pthread_mutex_t mu;  // guards cuInit and the record
  pid_t pid;           // the process that ran cuInit; 0 when none
  char token[FC_TOKEN_LEN];
  int rec_fd;
  fc_record rec;
  int ndev, devfd[FC_MAX_GPUS + 2];
  int nvisible;
  volatile int thread_ready;
  volatile unsigned long long self_start;  // own start time as this process sees it
} g = {.mu = PTHREAD_MUTEX_INITIALIZER, .rec_fd = -1};

int fakecuda_caller_initialized(void) { return g.pid != 0 && g.pid == getpid(); }
const char* fc_app_token(void) { return g.token; }
int fc_app_device_count(void) { return g.nvisible; }

static void record_flush(void) {  // caller holds g.mu
  char buf[FC_RECORD_SIZE];
  fc_record_format(&g.rec, buf);
  ssize_t w = pwrite(g.rec_fd, buf, FC_RECORD_SIZE, 0);
  (void)w;
}

static void open_device(const char* name) {
  char path[FC_PATH_LEN], rel[64];
  snprintf(rel, sizeof rel, "dev/%s", name);
  if (fc_path(path, sizeof path, rel) != 0) return;
  int fd = open(path, O_RDONLY | O_CREAT | O_CLOEXEC, 0644);
  if (fd >= 0) g.devfd[g.ndev++] = fd;
}

static void close_devices(void) {
  while (g.ndev > 0) close(g.devfd[--g.ndev]);
}

static void open_devices(const fc_state* st) {
  char path[FC_PATH_LEN], name[32];
  fc_gpu_list all;
  close_devices();
  if (fc_path(path, sizeof path, "dev") == 0) mkdir(path, 0755);
  open_device("nvidiactl");
  open_device("nvidia-uvm");
  if (fc_read_gpus_of(st->machine, &all) != 0) return;
  for (int i = 0; i < st->ngpus; i++) {
    const fc_gpu* gpu = fc_find_gpu(&all, st->gpus[i]);
    if (!gpu) continue;
    snprintf(name, sizeof name, "nvidia%u", gpu->minor);
    open_device(name);
  }
}

static void* driver_thread(void* arg) {
  (void)arg;
  pthread_mutex_lock(&g.mu);
  g.rec.restore_tid = (int)gettid();
  record_flush();
  pthread_mutex_unlock(&g.mu);
  g.thread_ready = 1;
  for (;;) {
    fc_sleep_ms(10);
    unsigned long long me = fc_pid_starttime(0);
    if (me && me != g.self_start) {  // restored by criu: announce a new incarnation
      pthread_mutex_lock(&g.mu);
      g.rec.gen = fc_random_gen();
      record_flush();
      pthread_mutex_unlock(&g.mu);
      g.self_start = me;
    }
    fc_state st;
    if (fc_state_read(g.token, &st) != 0 || st.gen != g.rec.gen || st.seq == g.rec.ack) continue;
    if (st.state == FC_CHECKPOINTED) close_devices();
    else open_devices(&st);
    pthread_mutex_lock(&g.mu);
    g.rec.ack = st.seq;
    record_flush();
    pthread_mutex_unlock(&g.mu);
  }
  return NULL;
}

static CUresult register_process(unsigned flags) {
  fc_gpu_list all, vis;
  char path[FC_PATH_LEN], name[64];
  if (flags != 0) return CUDA_ERROR_INVALID_VALUE;
  if (fc_read_gpus(&all) != 0) return CUDA_ERROR_UNKNOWN;
  fc_visible_gpus(&all, &vis);
  if (vis.count == 0) return CUDA_ERROR_NO_DEVICE;
  mkdir(fc_dir(), 0755);
  fc_state st = {.state = FC_RUNNING, .ngpus = vis.count, .gen = fc_random_gen()};
  snprintf(st.machine, sizeof st.machine, "%s", fc_machine());
  g.self_start = fc_pid_starttime(0);
  for (int i = 0; i < vis.count; i++) snprintf(st.gpus[i], FC_UUID_LEN, "%s", vis.gpu[i].uuid);
  fc_random_token(g.token);
  snprintf(name, sizeof name, "proc-%s", g.token);
  if (fc_state_write(g.token, &st) != 0 || fc_path(path, sizeof path, name) != 0)
    return CUDA_ERROR_OPERATING_SYSTEM;
  g.rec_fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (g.rec_fd < 0) return CUDA_ERROR_OPERATING_SYSTEM;
  g.rec = (fc_record){.nspid = (int)getpid(), .gen = st.gen};
  snprintf(g.rec.token, sizeof g.rec.token, "%s", g.token);
  record_flush();
  open_devices(&st);
  g.nvisible = vis.count;
  // The driver thread takes no signals: they belong to the application's threads.
  sigset_t all_sigs, old;
  sigfillset(&all_sigs);
  pthread_sigmask(SIG_SETMASK, &all_sigs, &old);
  pthread_t t;
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  int rc = pthread_create(&t, &attr, driver_thread, NULL);
  pthread_attr_destroy(&attr);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  return rc == 0 ? CUDA_SUCCESS : CUDA_ERROR_OPERATING_SYSTEM;
}

EXPORT CUresult cuInit(unsigned int flags) {
  pthread_mutex_lock(&g.mu);
  CUresult r = CUDA_SUCCESS;
  if (g.pid != 0 && g.pid != getpid()) r = CUDA_ERROR_NOT_INITIALIZED;  // forked after cuInit
  else if (g.pid == 0 && (r = register_process(flags)) == CUDA_SUCCESS) g.pid = getpid();
  pthread_mutex_unlock(&g.mu);
  while (r == CUDA_SUCCESS && !g.thread_ready) fc_sleep_ms(1);
  return r;
}

// Adds to the process's context flag and allocated memory, and rewrites its record.
void fc_app_account(int ctx, long long mem_delta) {
  pthread_mutex_lock(&g.mu);
  int changed = (ctx && !g.rec.ctx) || mem_delta != 0;
  if (ctx) g.rec.ctx = 1;
  if (mem_delta < 0 && (unsigned long long)-mem_delta > g.rec.mem) g.rec.mem = 0;
  else g.rec.mem += (unsigned long long)mem_delta;
  if (changed) record_flush();
  pthread_mutex_unlock(&g.mu);
}

unsigned long long fc_app_mem(void) { return g.rec.mem; }

int fc_app_current(const fc_state* st) {
  unsigned long long me = fc_pid_starttime(0);
  return st->gen == g.rec.gen && (!me || me == g.self_start);
}
int fc_app_has_ctx(void) { return g.rec.ctx; }
