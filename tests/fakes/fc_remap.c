// Restore-time GPU checks of the fake driver, as measured on driver 580:
// - without a map, every GPU the process had must be present (else 100 CUDA_ERROR_NO_DEVICE);
// - a map must list every GPU of the machine exactly once as new, and every GPU of the machine
//   the process was checkpointed on exactly once as old (one-to-one); else 1
//   CUDA_ERROR_INVALID_VALUE. (On one machine both sets are the same, as measured.)
// - the fake also refuses (1) to map a GPU onto one of another model (NAME), which NVIDIA
//   documents as unsupported; the real error code for that was not measured.
// On any error the state is left untouched, so the process stays CHECKPOINTED. On success the
// process runs on the caller's machine (its gpus file, $FAKE_CUDA_GPUS) from then on.
#include <stdio.h>
#include <string.h>

#include "cuda_abi.h"
#include "fakecuda.h"

static int same_uuid(const char* a, const char* b) {
  unsigned char x[16], y[16];
  return fc_uuid_parse(a, x) == 0 && fc_uuid_parse(b, y) == 0 && memcmp(x, y, 16) == 0;
}

static int index_of(const char (*list)[FC_UUID_LEN], int n, const char* uuid) {
  for (int i = 0; i < n; i++)
    if (same_uuid(list[i], uuid)) return i;
  return -1;
}

static CUresult check_one_to_one(const char (*olds)[FC_UUID_LEN], const char (*news)[FC_UUID_LEN],
                                 int n, const fc_gpu_list* here, const fc_state* st) {
  char host[FC_MAX_GPUS][FC_UUID_LEN];
  int nhost = st->nhost;
  memcpy(host, st->host_gpus, sizeof host);
  if (nhost == 0) {  // checkpointed before the host was recorded: assume this machine
    nhost = here->count;
    for (int i = 0; i < nhost; i++) snprintf(host[i], FC_UUID_LEN, "%s", here->gpu[i].uuid);
  }
  if (n != here->count || n != nhost) return CUDA_ERROR_INVALID_VALUE;
  for (int i = 0; i < n; i++) {
    if (!fc_find_gpu(here, news[i]) || index_of(host, nhost, olds[i]) < 0)
      return CUDA_ERROR_INVALID_VALUE;
    if (index_of(news, i, news[i]) >= 0 || index_of(olds, i, olds[i]) >= 0)
      return CUDA_ERROR_INVALID_VALUE;  // duplicates
  }
  return CUDA_SUCCESS;
}

CUresult fc_apply_restore_map(fc_state* st, const CUcheckpointRestoreArgs* args) {
  fc_gpu_list here;
  if (fc_read_gpus(&here) != 0) return CUDA_ERROR_UNKNOWN;
  unsigned n = args->gpuPairsCount;
  if (n == 0) {
    for (int i = 0; i < st->ngpus; i++)
      if (!fc_find_gpu(&here, st->gpus[i])) return CUDA_ERROR_NO_DEVICE;
    snprintf(st->machine, sizeof st->machine, "%s", fc_machine());  // it runs here now
    return CUDA_SUCCESS;
  }
  if (n > FC_MAX_GPUS) return CUDA_ERROR_INVALID_VALUE;
  char olds[FC_MAX_GPUS][FC_UUID_LEN], news[FC_MAX_GPUS][FC_UUID_LEN];
  for (unsigned i = 0; i < n; i++) {
    fc_uuid_format(args->gpuPairs[i].oldUuid.bytes, olds[i]);
    fc_uuid_format(args->gpuPairs[i].newUuid.bytes, news[i]);
  }
  CUresult r = check_one_to_one((const char(*)[FC_UUID_LEN])olds,
                                (const char(*)[FC_UUID_LEN])news, (int)n, &here, st);
  if (r != CUDA_SUCCESS) return r;
  char mapped[FC_MAX_GPUS][FC_UUID_LEN];
  for (int k = 0; k < st->ngpus; k++) {
    int i = index_of((const char(*)[FC_UUID_LEN])olds, (int)n, st->gpus[k]);
    if (i < 0) return CUDA_ERROR_INVALID_VALUE;
    const fc_gpu* target = fc_find_gpu(&here, news[i]);
    if (st->names[k][0] && strcmp(st->names[k], target->name) != 0) return CUDA_ERROR_INVALID_VALUE;
    snprintf(mapped[k], FC_UUID_LEN, "%s", target->uuid);
  }
  memcpy(st->gpus, mapped, sizeof mapped);
  snprintf(st->machine, sizeof st->machine, "%s", fc_machine());  // it runs here now
  return CUDA_SUCCESS;
}
