// The application side of the fake libcuda.so.1: cuInit, devices, contexts and "device" memory
// (host memory). cuInit registers the process: it writes state-<token> and proc-<token>, keeps
// proc-<token> open (its identity across criu dump/restore, also under new host pids), opens
// fake device files ($FAKE_CUDA_DIR/dev/nvidiactl, nvidia-uvm, nvidia<minor> per GPU) and starts
// the driver ("restore") thread. That thread follows the state the checkpoint API writes: on
// checkpoint it closes the device files, on restore it reopens them for the (possibly remapped)
// GPUs, and it acknowledges each step in proc-<token>, as the real driver needs the process's
// restore thread to run. Work calls block while the process is not RUNNING.
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cuda_abi.h"
#include "fakecuda.h"

#define EXPORT __attribute__((visibility("default")))
#define ALLOC_HEADER 4096

static struct {
  pthread_mutex_t mu;  // guards cuInit and the record
  pid_t pid;           // the process that ran cuInit; 0 when none
  char token[FC_TOKEN_LEN];
  int rec_fd;
  fc_record rec;
  int ndev, devfd[FC_MAX_GPUS + 2];
  int nvisible;
  volatile int thread_ready;
} g = {.mu = PTHREAD_MUTEX_INITIALIZER, .rec_fd = -1};

static int initialized(void) { return g.pid != 0 && g.pid == getpid(); }

// Used by the checkpoint API (same library) for the "require-init" fault.
int fakecuda_caller_initialized(void) { return initialized(); }

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
  if (fc_read_gpus(&all) != 0) return;
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
    fc_state st;
    if (fc_state_read(g.token, &st) != 0 || st.seq == g.rec.ack) continue;
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
  fc_state st = {.state = FC_RUNNING, .ngpus = vis.count};
  for (int i = 0; i < vis.count; i++) snprintf(st.gpus[i], FC_UUID_LEN, "%s", vis.gpu[i].uuid);
  fc_random_token(g.token);
  snprintf(name, sizeof name, "proc-%s", g.token);
  if (fc_state_write(g.token, &st) != 0 || fc_path(path, sizeof path, name) != 0)
    return CUDA_ERROR_OPERATING_SYSTEM;
  g.rec_fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (g.rec_fd < 0) return CUDA_ERROR_OPERATING_SYSTEM;
  g.rec = (fc_record){.nspid = (int)getpid()};
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

// Blocks while the process is locked or checkpointed, like any real CUDA work call.
static CUresult wait_running(void) {
  if (!initialized()) return CUDA_ERROR_NOT_INITIALIZED;
  for (;;) {
    fc_state st;
    if (fc_state_read(g.token, &st) != 0) return CUDA_ERROR_UNKNOWN;
    if (st.state == FC_RUNNING) return CUDA_SUCCESS;
    if (st.state == FC_FAILED) return CUDA_ERROR_UNKNOWN;
    fc_sleep_ms(5);
  }
}

// The GPU behind device ordinal `dev` now (after a remap, a different one).
static CUresult device_gpu(CUdevice dev, fc_gpu* out) {
  fc_state st;
  fc_gpu_list all;
  if (!initialized()) return CUDA_ERROR_NOT_INITIALIZED;
  if (fc_state_read(g.token, &st) != 0 || fc_read_gpus(&all) != 0) return CUDA_ERROR_UNKNOWN;
  if (dev < 0 || dev >= st.ngpus) return CUDA_ERROR_INVALID_DEVICE;
  const fc_gpu* gpu = fc_find_gpu(&all, st.gpus[dev]);
  if (gpu) *out = *gpu;
  else *out = (fc_gpu){.memory = 0};
  snprintf(out->uuid, sizeof out->uuid, "%s", st.gpus[dev]);
  return CUDA_SUCCESS;
}

static void set_ctx(void) {
  pthread_mutex_lock(&g.mu);
  if (!g.rec.ctx) {
    g.rec.ctx = 1;
    record_flush();
  }
  pthread_mutex_unlock(&g.mu);
}

EXPORT CUresult cuDeviceGetCount(int* count) {
  if (!initialized()) return CUDA_ERROR_NOT_INITIALIZED;
  if (!count) return CUDA_ERROR_INVALID_VALUE;
  *count = g.nvisible;
  return CUDA_SUCCESS;
}

EXPORT CUresult cuDeviceGet(CUdevice* dev, int ordinal) {
  if (!initialized()) return CUDA_ERROR_NOT_INITIALIZED;
  if (!dev) return CUDA_ERROR_INVALID_VALUE;
  if (ordinal < 0 || ordinal >= g.nvisible) return CUDA_ERROR_INVALID_DEVICE;
  *dev = ordinal;
  return CUDA_SUCCESS;
}

EXPORT CUresult cuDeviceGetName(char* name, int len, CUdevice dev) {
  fc_gpu gpu;
  CUresult r = name && len > 0 ? device_gpu(dev, &gpu) : CUDA_ERROR_INVALID_VALUE;
  if (r == CUDA_SUCCESS) snprintf(name, (size_t)len, "%s", gpu.name);
  return r;
}

EXPORT CUresult cuDeviceGetUuid(CUuuid* uuid, CUdevice dev) {
  fc_gpu gpu;
  CUresult r = uuid ? device_gpu(dev, &gpu) : CUDA_ERROR_INVALID_VALUE;
  if (r == CUDA_SUCCESS && fc_uuid_parse(gpu.uuid, uuid->bytes) != 0) r = CUDA_ERROR_UNKNOWN;
  return r;
}

EXPORT CUresult cuDeviceGetUuid_v2(CUuuid* uuid, CUdevice dev) { return cuDeviceGetUuid(uuid, dev); }

EXPORT CUresult cuDeviceTotalMem_v2(size_t* bytes, CUdevice dev) {
  fc_gpu gpu;
  CUresult r = bytes ? device_gpu(dev, &gpu) : CUDA_ERROR_INVALID_VALUE;
  if (r == CUDA_SUCCESS) *bytes = gpu.memory;
  return r;
}

EXPORT CUresult cuDeviceGetPCIBusId(char* out, int len, CUdevice dev) {
  fc_gpu gpu;
  CUresult r = out && len > 0 ? device_gpu(dev, &gpu) : CUDA_ERROR_INVALID_VALUE;
  if (r == CUDA_SUCCESS) snprintf(out, (size_t)len, "%s", strlen(gpu.pci) > 4 ? gpu.pci + 4 : "");
  return r;
}

EXPORT CUresult cuDevicePrimaryCtxRetain(CUcontext* ctx, CUdevice dev) {
  if (!initialized()) return CUDA_ERROR_NOT_INITIALIZED;
  if (!ctx) return CUDA_ERROR_INVALID_VALUE;
  if (dev < 0 || dev >= g.nvisible) return CUDA_ERROR_INVALID_DEVICE;
  set_ctx();
  *ctx = (CUcontext)&g;
  return CUDA_SUCCESS;
}

EXPORT CUresult cuDevicePrimaryCtxRelease_v2(CUdevice dev) {
  if (!initialized()) return CUDA_ERROR_NOT_INITIALIZED;
  return dev >= 0 && dev < g.nvisible ? CUDA_SUCCESS : CUDA_ERROR_INVALID_DEVICE;
}

EXPORT CUresult cuCtxCreate_v2(CUcontext* ctx, unsigned int flags, CUdevice dev) {
  (void)flags;
  return cuDevicePrimaryCtxRetain(ctx, dev);
}

EXPORT CUresult cuCtxDestroy_v2(CUcontext ctx) {
  if (!initialized()) return CUDA_ERROR_NOT_INITIALIZED;
  return ctx ? CUDA_SUCCESS : CUDA_ERROR_INVALID_VALUE;
}

EXPORT CUresult cuCtxSetCurrent(CUcontext ctx) {
  if (!initialized()) return CUDA_ERROR_NOT_INITIALIZED;
  if (ctx) set_ctx();
  return CUDA_SUCCESS;
}

EXPORT CUresult cuCtxGetCurrent(CUcontext* ctx) {
  if (!initialized()) return CUDA_ERROR_NOT_INITIALIZED;
  if (!ctx) return CUDA_ERROR_INVALID_VALUE;
  *ctx = g.rec.ctx ? (CUcontext)&g : NULL;
  return CUDA_SUCCESS;
}

EXPORT CUresult cuCtxGetDevice(CUdevice* dev) {
  if (!initialized()) return CUDA_ERROR_NOT_INITIALIZED;
  if (!dev) return CUDA_ERROR_INVALID_VALUE;
  *dev = 0;  // the fake has one current device: ordinal 0
  return CUDA_SUCCESS;
}

EXPORT CUresult cuCtxSynchronize(void) {
  CUresult r = wait_running();
  if (r == CUDA_SUCCESS) set_ctx();
  return r;
}

EXPORT CUresult cuMemAlloc_v2(CUdeviceptr* dptr, size_t bytes) {
  fc_gpu gpu;
  CUresult r = wait_running();
  if (r != CUDA_SUCCESS) return r;
  if (!dptr || bytes == 0) return CUDA_ERROR_INVALID_VALUE;
  if ((r = device_gpu(0, &gpu)) != CUDA_SUCCESS) return r;
  if (g.rec.mem + bytes > gpu.memory) return CUDA_ERROR_OUT_OF_MEMORY;
  char* base = mmap(NULL, bytes + ALLOC_HEADER, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                    -1, 0);
  if (base == MAP_FAILED) return CUDA_ERROR_OUT_OF_MEMORY;
  memcpy(base, &bytes, sizeof bytes);
  *dptr = (CUdeviceptr)(base + ALLOC_HEADER);
  pthread_mutex_lock(&g.mu);
  g.rec.ctx = 1;
  g.rec.mem += bytes;
  record_flush();
  pthread_mutex_unlock(&g.mu);
  return CUDA_SUCCESS;
}

EXPORT CUresult cuMemFree_v2(CUdeviceptr dptr) {
  CUresult r = wait_running();
  if (r != CUDA_SUCCESS) return r;
  if (!dptr) return CUDA_ERROR_INVALID_VALUE;
  char* base = (char*)dptr - ALLOC_HEADER;
  size_t bytes;
  memcpy(&bytes, base, sizeof bytes);
  munmap(base, bytes + ALLOC_HEADER);
  pthread_mutex_lock(&g.mu);
  g.rec.mem -= bytes < g.rec.mem ? bytes : g.rec.mem;
  record_flush();
  pthread_mutex_unlock(&g.mu);
  return CUDA_SUCCESS;
}

EXPORT CUresult cuMemcpyHtoD_v2(CUdeviceptr dst, const void* src, size_t bytes) {
  CUresult r = wait_running();
  if (r == CUDA_SUCCESS) memcpy((void*)dst, src, bytes);
  return r;
}

EXPORT CUresult cuMemcpyDtoH_v2(void* dst, CUdeviceptr src, size_t bytes) {
  CUresult r = wait_running();
  if (r == CUDA_SUCCESS) memcpy(dst, (const void*)src, bytes);
  return r;
}

EXPORT CUresult cuMemGetInfo_v2(size_t* free_bytes, size_t* total_bytes) {
  fc_gpu gpu;
  CUresult r = free_bytes && total_bytes ? device_gpu(0, &gpu) : CUDA_ERROR_INVALID_VALUE;
  if (r != CUDA_SUCCESS) return r;
  *total_bytes = gpu.memory;
  *free_bytes = gpu.memory > g.rec.mem ? gpu.memory - g.rec.mem : 0;
  return CUDA_SUCCESS;
}

// Not in NVIDIA's ABI: the calling process's own checkpoint state (-1 before cuInit), for the
// fake workload's status line.
EXPORT int fakecuda_self_state(void) {
  fc_state st;
  return initialized() && fc_state_read(g.token, &st) == 0 ? st.state : -1;
}
