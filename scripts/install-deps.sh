#!/usr/bin/env bash
# Installs everything gpucr needs to build and test on Debian 12/13 or Ubuntu 22.04+.
# Idempotent: a second run installs nothing and takes about a second.
#   - build: compiler, cmake, ninja, CLI11, nlohmann-json, protobuf, libdrm, libarchive, GoogleTest/gmock
#   - tests: runc, podman, containerd, iptables, busybox-static (container tests), python3, zstd
#     (the archive tests read zstd archives with it)
#   - fuzzing (scripts/fuzz.sh, docs/FUZZING.md): clang 14 with its libFuzzer and sanitizer runtimes
#   - criu >= 4.0 that passes `criu check` (scripts/install-criu.sh)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

packages=(
  g++ cmake ninja-build pkg-config ccache
  libcli11-dev nlohmann-json3-dev libprotobuf-dev protobuf-compiler
  libdrm-dev libarchive-dev libgtest-dev libgmock-dev
  runc podman containerd iptables busybox-static uidmap
  python3 python3-pytest procps psmisc file zstd
  clang-14 libclang-rt-14-dev
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

if ((${#missing[@]})); then
  if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps: missing packages: ${missing[*]}; run this script as root (or with sudo)" >&2
    exit 1
  fi
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

"$here/install-criu.sh"
