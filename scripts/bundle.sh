#!/usr/bin/env bash
# Builds the bundle the GPU machine needs (it has no network and no package installs):
#   bundle/bin/gpucr           stripped gpucr (its libraries, protobuf 3.21's libprotobuf.so.32
#                              and zlib, are on Ubuntu 24.04 already)
#   bundle/lib/libarchive.so.13  Debian 12's libarchive, for a machine without one: bundle/env.sh
#                              puts bundle/lib on LD_LIBRARY_PATH only when `ldconfig -p` lists no
#                              libarchive.so.13 (its own dependencies, zstd, xml2, nettle, acl,
#                              lzma, lz4, bz2 and zlib, are on Ubuntu 24.04)
#   bundle/bin/criu            wrapper that runs bundle/criu (Debian 13's criu prefix from
#                              scripts/install-criu.sh) through its own dynamic loader
#   bundle/bin/runc            Debian 12's runc, for the container test on the device
#   bundle/bin/cuda-checkpoint NVIDIA's cuda-checkpoint binary, when GPUCR_CUDA_CHECKPOINT names
#                              one (the NVIDIA/cuda-checkpoint repository ships it under
#                              bin/x86_64_Linux/; it is not redistributed in this repository)
#   bundle/criu-alt/bin/criu   a second criu for the benchmark's criu comparison, when
#                              GPUCR_CRIU_ALT_PREFIX names an unpacked prefix (e.g. Debian 13's
#                              4.1.1: GPUCR_CRIU_WANT=9.9 GPUCR_CRIU_SUITES=trixie
#                              GPUCR_CRIU_PREFIX=/opt/gpucr/criu-4.1 GPUCR_CRIU_WRAPPER=/opt/gpucr/criu41
#                              scripts/install-criu.sh)
# Carry it with the device tool (carry: ["bundle"]) and `. bundle/env.sh` there (PATH, and
# LD_LIBRARY_PATH when needed).
# tests/gpu/ is built on the device itself (nvcc is there).
set -euo pipefail
cd "$(dirname "$0")/.."
prefix=${GPUCR_CRIU_PREFIX:-/opt/gpucr/criu}
[ -x "$prefix/usr/sbin/criu" ] || scripts/install-criu.sh
scripts/build.sh >/dev/null

rm -rf bundle
mkdir -p bundle/bin bundle/criu bundle/lib
build=${BUILD_DIR:-build}  # scripts/build.sh builds there too
strip -o bundle/bin/gpucr "$build/src/cli/gpucr"
cp -L "$(ldd "$build/src/cli/gpucr" | awk '$1 == "libarchive.so.13" { print $3 }')" bundle/lib/libarchive.so.13
cat >bundle/env.sh <<'ENV'
# Source from the directory above bundle/: gpucr and criu first in PATH; Debian 12's libarchive
# only where the machine has none.
export PATH="$PWD/bundle/bin:$PATH"
if ! ldconfig -p 2>/dev/null | grep -q 'libarchive\.so\.13 '; then
  export LD_LIBRARY_PATH="$PWD/bundle/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
fi
ENV
tar -C "$prefix" --exclude=./usr/share --exclude=./usr/lib/x86_64-linux-gnu/gconv -cf - . | tar -C bundle/criu -xf -
# A wrapper that runs the criu of a prefix unpacked beside it through the prefix's own loader.
criu_wrapper() { # WRAPPER PREFIX_RELATIVE_TO_WRAPPER_DIR
  cat >"$1" <<WRAP
#!/bin/sh
# criu from the gpucr bundle (a Debian criu 4.x with its own libraries)
p=\$(dirname "\$(readlink -f "\$0")")/$2
exec "\$p/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2" --library-path "\$p/usr/lib/x86_64-linux-gnu" "\$p/usr/sbin/criu" "\$@"
WRAP
  chmod 755 "$1"
}
criu_wrapper bundle/bin/criu ../criu
if [ -n "${GPUCR_CRIU_ALT_PREFIX:-}" ]; then
  mkdir -p bundle/criu-alt/bin bundle/criu-alt/prefix
  tar -C "$GPUCR_CRIU_ALT_PREFIX" --exclude=./usr/share --exclude=./usr/lib/x86_64-linux-gnu/gconv -cf - . | tar -C bundle/criu-alt/prefix -xf -
  criu_wrapper bundle/criu-alt/bin/criu ../prefix
fi
if [ -n "${GPUCR_CUDA_CHECKPOINT:-}" ]; then install -m 755 "$GPUCR_CUDA_CHECKPOINT" bundle/bin/cuda-checkpoint; fi
if command -v runc >/dev/null; then cp "$(command -v runc)" bundle/bin/runc; fi
du -sh bundle
