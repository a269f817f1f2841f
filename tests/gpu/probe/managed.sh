#!/bin/bash
# Probe: maps of a managed-memory process vs a plain one; what the driver says when locking it.
cd "$(dirname "$0")"
nvcc -o /tmp/managed managed.cu || exit 1
/tmp/managed > /tmp/m0 & A=$!; /tmp/managed managed > /tmp/m1 & B=$!; sleep 3
for p in $A $B; do echo "== pid $p $(cat /proc/$p/cmdline | tr '\0' ' ')"; grep -c nvidia-uvm /proc/$p/maps; grep nvidia /proc/$p/maps | awk '{print $2, $6}' | sort | uniq -c | head; done
export PATH=$PWD/../../../bundle/bin:$PATH
for p in $A $B; do gpucr __cuda-call lock --pid $p; gpucr __cuda-call checkpoint --pid $p; gpucr __cuda-call restore --pid $p; gpucr __cuda-call unlock --pid $p; done
kill $A $B
