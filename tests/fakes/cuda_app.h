// The process-side state of the fake libcuda.so.1 (cuda_init.c), for cuda_device.c and the
// checkpoint API (hidden symbols, not part of the ABI).
#pragma once

#include "fakecuda.h"

int fakecuda_caller_initialized(void);  // this process (not a forked child) ran cuInit
const char* fc_app_token(void);
int fc_app_device_count(void);
void fc_app_account(int ctx, long long mem_delta);  // sets ctx (if 1), adds to mem; rewrites record
unsigned long long fc_app_mem(void);
int fc_app_has_ctx(void);
// 1 when `st` (this process's state-<token>) belongs to this incarnation of the process; 0 right
// after a criu restore, until the checkpoint API adopted it (cuda_init.c, "Incarnations").
int fc_app_current(const fc_state* st);

