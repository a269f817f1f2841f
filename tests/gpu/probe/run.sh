#!/bin/bash
# Probe: real driver answers for the checkpoint API on various pids.
set -x
cd "$(dirname "$0")"
gcc -O2 -o /tmp/probe probe.c -ldl && nvcc -O2 -o /tmp/app app.cu || exit 1
nvidia-smi -L; cat /proc/driver/nvidia/gpus/*/information; cat /proc/driver/nvidia/version
which cuda-checkpoint; ls /usr/local/cuda/bin | head -50; find / -name 'cuda-checkpoint*' -not -path '/proc/*' 2>/dev/null | head
/tmp/app 256 > /tmp/app.out & A=$!; sleep 3; cat /tmp/app.out
/tmp/app 64 fork > /tmp/app2.out & B=$!; sleep 3; cat /tmp/app2.out; C=$(sed -n 's/child //p' /tmp/app2.out)
sleep 1000 & S=$!
ls -la /proc/$A/fd | grep nvidia | head -5; ls -la /proc/$C/fd | grep nvidia | head -3; grep -c nvidia /proc/$C/maps
/tmp/probe state $S state 999999 state $A state $C state $B tid $A unlock $A ckpt $A lock $A lock $A state $A restore $A ckpt $A state $A ckpt $A unlock $A restore $A state $A lock $C init 0 restore $A unlock $A state $A
ls /proc/$A/fd -la | grep -c nvidia
nvidia-smi --query-compute-apps=pid,used_memory --format=csv
python3 -c "
import pynvml as n; n.nvmlInit(); h=n.nvmlDeviceGetHandleByIndex(0); print(n.nvmlDeviceGetUUID(h), n.nvmlDeviceGetName(h), n.nvmlDeviceGetMemoryInfo(h).total, n.nvmlDeviceGetMinorNumber(h)); print([(p.pid,p.usedGpuMemory) for p in n.nvmlDeviceGetComputeRunningProcesses(h)]); print(n.nvmlDeviceGetMigMode(h))
" 2>&1
if command -v cuda-checkpoint; then cuda-checkpoint --help 2>&1 | head -40; cuda-checkpoint --get-state --pid $A; echo rc=$?; cuda-checkpoint --get-state --pid $S; echo rc=$?; cuda-checkpoint --action unlock --pid $A; echo rc=$?; fi
cat /sys/kernel/mm/transparent_hugepage/enabled; nproc; free -g; df -h /dev/shm /tmp
python3 -c "import torch; print(torch.__version__, torch.cuda.is_available())"
ldd --version | head -1; ls /usr/lib/x86_64-linux-gnu/ | grep -E 'protobuf|drm' 
kill $A $B $C $S
