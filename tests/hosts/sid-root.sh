#!/usr/bin/env bash
# A second test host inside the CI machine: a Debian unstable (sid) root holding the current
# container engines (podman 5, containerd 2, runc 1.3, crun 1.2x, criu 4.2, checkpointctl), so
# the container integration tests run against them as well as against Debian 12's.
#
#   tests/hosts/sid-root.sh build            make or refresh the root (idempotent)
#   tests/hosts/sid-root.sh run [--bind DIR]... [--] CMD...
#                                            run CMD inside it; exits with CMD's status
#
# build: debootstrap (minbase) + apt-get install of PACKAGES below into GPUCR_SID_ROOT (default
#   /var/lib/gpucr-test/sid-root, outside the repository). The root is made in ROOT.new and
#   renamed when complete. ROOT/.gpucr-stamp holds the package list and the installed versions;
#   a second build with the same list does nothing, a changed list rebuilds. Downloaded .debs
#   stay in ROOT's sibling debs/ for the next rebuild. The archive URI is the machine's own
#   (scripts/debian-mirror.sh). sid's Release file as served here is a dated snapshot, hence
#   Acquire::Check-Valid-Until=false (docs/ENGINES.md).
#
# run: CMD runs as the root of a private mount namespace, not in a chroot: in a plain chroot
#   `criu check` fails ("mnt: No parent found for mountpoint"), entered like this it passes
#   (FACTS §7). Inside: ROOT bound onto itself, proc, /sys and /dev rbound, tmpfs on /run and a
#   pure cgroup v2 hierarchy on /sys/fs/cgroup (GPUCR_SID_CGROUP=v2, the default; =host keeps
#   the host's hybrid layout), then pivot_root and a lazy unmount of the old root. The
#   repository (and GPUCR_BUILD_DIR, and each --bind DIR) is bind-mounted at the same absolute
#   path, and CMD starts in the current directory, so paths in the tests keep working. The
#   environment is kept, but PATH is the root's own. All mounts live in the private namespace
#   only: nothing is left mounted on the host. CMD also gets a pid namespace of its own, with
#   catatonit as its init (it reaps orphans, as a host's init does, and exits with CMD's
#   status); when CMD ends, whatever it left running there (a daemon, a container) is killed.
#   Why a pure v2 mount: crun 1.2x refuses hybrid hosts ("cgroups in hybrid mode not
#   supported, drop all controllers from cgroupv2"); docs/ENGINES.md says what works with it.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
self=$here/$(basename "$0")
repo=$(cd "$here/../.." && pwd)
root=${GPUCR_SID_ROOT:-/var/lib/gpucr-test/sid-root}
stamp=$root/.gpucr-stamp

# The engines at their sid versions, what the python tests run inside (ldd is libc-bin's; criu runs
# `ip` from iproute2 to dump a network namespace) and the shared libraries gpucr links.
PACKAGES=(
  podman containerd runc crun criu libcriu2 checkpointctl conmon iptables busybox-static
  netavark passt catatonit
  python3 python3-pytest procps psmisc file kmod iproute2
  libprotobuf32t64 libdrm2 libdrm-amdgpu1 zlib1g libarchive13t64
)
# Extra apt options: the snapshot's Release file is past its Valid-Until date.
APT_OPTS=(-o Acquire::Check-Valid-Until=false -o APT::Install-Recommends=false -qq)

log() { echo "sid-root: $*" >&2; }
die() { log "$*"; exit 1; }

list_line() { echo "packages: ${PACKAGES[*]}"; }

mounts_under() { # mount points at or below $1 in this namespace
  awk -v p="$1" '$5 == p || index($5, p "/") == 1 { print $5 }' /proc/self/mountinfo
}

# ---------------------------------------------------------------- run

enter() { # runs inside `unshare -m`: build the view, pivot, exec CMD
  local cwd=$1 cgroup=$2
  shift 2
  local binds=()
  while [ "${1:-}" = --bind ]; do binds+=("$2"); shift 2; done
  [ "${1:-}" = -- ] && shift
  mount --bind "$root" "$root"
  mount -t proc proc "$root/proc"
  mount --rbind /sys "$root/sys"
  mount --rbind /dev "$root/dev"
  mount -t tmpfs -o mode=755 tmpfs "$root/run"
  if [ "$cgroup" = v2 ]; then
    umount -R "$root/sys/fs/cgroup"
    mount -t cgroup2 cgroup2 "$root/sys/fs/cgroup"
  fi
  local d
  for d in "${binds[@]}"; do
    mkdir -p "$root$d"
    mount --rbind "$d" "$root$d"
  done
  cp /etc/resolv.conf "$root/etc/resolv.conf"
  cd "$root"
  mkdir -p .oldroot
  pivot_root . .oldroot
  cd /
  umount -l /.oldroot
  cd "$cwd" 2>/dev/null || { log "$cwd is not inside the root (bind it with --bind); starting in /"; cd /; }
  export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
  exec catatonit -- "$@"
}

run_in_root() {
  [ "$(id -u)" -eq 0 ] || die "run needs root"
  [ -f "$stamp" ] || die "no root at $root: run '$0 build' first"
  local binds=(--bind "$repo")
  if [ -n "${GPUCR_BUILD_DIR:-}" ]; then
    case "$GPUCR_BUILD_DIR/" in "$repo"/*) ;; *) binds+=(--bind "$GPUCR_BUILD_DIR") ;; esac
  fi
  while [ "${1:-}" = --bind ]; do binds+=(--bind "$(cd "$2" && pwd)"); shift 2; done
  [ "${1:-}" = -- ] && shift
  [ $# -gt 0 ] || die "usage: $0 run [--bind DIR]... [--] CMD..."
  exec unshare -m --propagation private --pid --fork --kill-child \
    "$self" __enter "$PWD" "${GPUCR_SID_CGROUP:-v2}" "${binds[@]}" -- "$@"
}

# ---------------------------------------------------------------- build

apt_in() { # runs inside `unshare -m`: apt-get update + install in a chroot of $1 with proc and the .deb cache
  local new=$1 cache=$2
  mount -t proc proc "$new/proc"
  mount --bind "$cache" "$new/var/cache/apt/archives"
  chroot "$new" /usr/bin/env DEBIAN_FRONTEND=noninteractive apt-get "${APT_OPTS[@]}" update ||
    echo "sid-root: apt-get update failed inside (using debootstrap's lists)"
  chroot "$new" /usr/bin/env DEBIAN_FRONTEND=noninteractive apt-get "${APT_OPTS[@]}" -y install "${PACKAGES[@]}"
}

up_to_date() {
  [ -f "$stamp" ] && [ "$(head -n1 "$stamp")" = "$(list_line)" ] && [ -x "$root/usr/sbin/criu" ]
}

configure() { # files of our own in root $1; cheap, so every build rewrites them
  # hostfacts.py knows the host by this name (its documented facts).
  echo debian-sid-root >"$1/etc/gpucr-test-host"
  # crun restores with criu's cgroup root set for every controller (criu_add_cg_root with no
  # controller) and cgroup mode soft; the restored tasks' v1 controllers (still listed in
  # /proc/PID/cgroup under the pure v2 mount, `run` below) then go under the container's v2 path
  # and criu fails ("cg: Failed writing 0-1 to cpuset//PATH/cpuset.cpus: Permission denied").
  # With criu leaving cgroups alone crun places the restored tasks itself (docs/ENGINES.md).
  mkdir -p "$1/etc/criu"
  printf '# tests/hosts/sid-root.sh: see docs/ENGINES.md\nmanage-cgroups=ignore\n' >"$1/etc/criu/crun.conf"
}

build() {
  [ "$(id -u)" -eq 0 ] || die "build needs root"
  if up_to_date; then
    configure "$root"
    log "up to date: $root"
    return 0
  fi
  command -v debootstrap >/dev/null ||
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null
  local mirror new=$root.new cache t0=$SECONDS
  mirror=$("$repo/scripts/debian-mirror.sh")
  cache=$(dirname "$root")/debs
  for d in "$root" "$new"; do
    [ -z "$(mounts_under "$d")" ] || die "something is mounted under $d; unmount it first"
  done
  rm -rf "$new"
  mkdir -p "$new" "$cache"
  log "debootstrap sid from $mirror into $new"
  debootstrap --variant=minbase --cache-dir="$cache" sid "$new" "$mirror" >"$new.log" 2>&1 ||
    { tail -n 20 "$new.log" >&2; die "debootstrap failed (log: $new.log)"; }
  # No service may start inside (no init there); podman/containerd are started by the tests.
  printf '#!/bin/sh\nexit 101\n' >"$new/usr/sbin/policy-rc.d"
  chmod 755 "$new/usr/sbin/policy-rc.d"
  cp /etc/resolv.conf "$new/etc/resolv.conf"
  log "apt-get install ${#PACKAGES[@]} packages"
  unshare -m --propagation private "$self" __apt "$new" "$cache" >>"$new.log" 2>&1 ||
    { tail -n 20 "$new.log" >&2; die "apt-get install failed (log: $new.log)"; }
  configure "$new"
  { list_line
    echo "mirror: $mirror"
    echo "built: $(date -u +%Y-%m-%dT%H:%M:%SZ) in $((SECONDS - t0)) s"
    chroot "$new" dpkg-query -W -f='${Package} ${Version}\n' "${PACKAGES[@]}"
  } >"$new/.gpucr-stamp"
  rm -rf "$root"
  mv "$new" "$root"
  mv "$new.log" "$root.log"
  log "built $root in $((SECONDS - t0)) s"
  sed -n '4,$p' "$stamp" | grep -E '^(podman|containerd|runc|crun|criu|checkpointctl|conmon) ' >&2
}

case "${1:-}" in
  build) build ;;
  run) shift; run_in_root "$@" ;;
  __enter) shift; enter "$@" ;;
  __apt) shift; apt_in "$@" ;;
  *) die "usage: $0 build | run [--bind DIR]... [--] CMD..." ;;
esac
