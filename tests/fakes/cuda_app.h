// The process-side state of the fake libcuda.so.1 (cuda_init.c), for cuda_device.c and the
// checkpoint API (hidden symbols, not part of the ABI).
#pragma once

int fakecuda_caller_initialized(void);  // this process (not a forked child) ran cuInit
const char* fc_app_token(void);
int fc_app_device_count(void);
void fc_app_account(int ctx, long long mem_delta);  // sets ctx (if 1), adds to mem; rewrites record
unsigned long long fc_app_mem(void);
int fc_app_has_ctx(void);
