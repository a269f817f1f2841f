#!/usr/bin/env bash
# Makes a working criu >= 4.0 available as `criu` on PATH.
#
#   1. a criu already on PATH that is >= 4.0 and passes `criu check`: keep it;
#   2. else the distribution's criu, when its candidate version is >= 4.0;
#   3. else (Debian 12: criu 3.17 fails `criu check` on kernels >= 6.x) Debian 13's criu and the
#      libraries it needs, unpacked into a private prefix (GPUCR_CRIU_PREFIX, default
#      /opt/gpucr/criu) and started through its own dynamic loader by a wrapper script
#      (/usr/local/sbin/criu). The system's apt configuration and packages are not changed:
#      the trixie index lives in the prefix's own apt state directory.
# The archive URI is taken from this machine's apt sources (override: GPUCR_DEBIAN_MIRROR).
#
# The wrapper sets CRIU_FAULT=130 (criu's FI_NO_BREAKPOINTS switch) unless the caller set
# CRIU_FAULT: criu stops a task after its parasite's sigreturn with a hardware breakpoint, and in
# VMs that do not deliver them (seen on the CI machine, a VM restored from a snapshot) criu 4.1
# waits forever at the end of every dump. criu 4.2 detects this ("Hardware breakpoints don't seem
# to work") and steps by syscall instead; 4.1 does the same with the switch. A wrapper of ours
# written without it is rewritten (the prefix is kept).
set -euo pipefail

prefix=${GPUCR_CRIU_PREFIX:-/opt/gpucr/criu}
wrapper=${GPUCR_CRIU_WRAPPER:-/usr/local/sbin/criu}
min_major=4

log() { echo "install-criu: $*" >&2; }

criu_major() { "$1" --version 2>/dev/null | sed -n 's/^Version: \([0-9]*\).*/\1/p'; }

usable() { # path -> 0 when version >= 4 and `criu check` passes
  local major
  major=$(criu_major "$1")
  [ -n "$major" ] && [ "$major" -ge "$min_major" ] && "$1" check >/dev/null 2>&1
}

write_wrapper() {
  mkdir -p "$(dirname "$wrapper")"
  cat >"$wrapper" <<WRAP
#!/bin/sh
# criu from Debian 13, unpacked by gpucr's scripts/install-criu.sh into $prefix
# CRIU_FAULT=130: no hardware breakpoints (install-criu.sh says why)
p=$prefix
export CRIU_FAULT="\${CRIU_FAULT:-130}"
exec "\$p/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2" --library-path "\$p/usr/lib/x86_64-linux-gnu" "\$p/usr/sbin/criu" "\$@"
WRAP
  chmod 755 "$wrapper"
}

if [ -f "$wrapper" ] && grep -q "scripts/install-criu.sh" "$wrapper" && ! grep -q CRIU_FAULT "$wrapper" &&
   [ -x "$prefix/usr/sbin/criu" ] && [ -w "$(dirname "$wrapper")" ]; then
  log "rewriting $wrapper (CRIU_FAULT=130: no hardware breakpoints)"
  write_wrapper
fi

if c=$(command -v criu) && usable "$c"; then
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  log "no working criu >= $min_major.0 on PATH; run this script as root to install one"
  exit 1
fi

candidate=$(apt-cache policy criu 2>/dev/null | sed -n 's/^ *Candidate: \([0-9]*\).*/\1/p')
if [ -n "$candidate" ] && [ "$candidate" -ge "$min_major" ]; then
  log "installing the distribution's criu"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends criu >/dev/null
  if usable "$(command -v criu)"; then exit 0; fi
  log "the distribution's criu fails 'criu check'; falling back to a private prefix"
fi

mirror=$("$(dirname "$0")/debian-mirror.sh") || { log "no Debian archive URI (see scripts/debian-mirror.sh)"; exit 1; }

pkgs=(criu libcompel1 libc6 libprotobuf-c1 libnl-3-200 libnet1 libbsd0 libgnutls30t64
      libnftables1 libuuid1 libmd0 libcap2 libnettle8t64 libhogweed6t64 libgmp10 libunistring5
      libidn2-0 libtasn1-6 libp11-kit0 libffi8 libxtables12 libjansson4 libmnl0 libnftnl11
      libedit2 libtinfo6 libgcc-s1)

state=$(mktemp -d /tmp/gpucr-criu-apt.XXXXXX)
trap 'rm -rf "$state"' EXIT
mkdir -p "$state/lists/partial" "$state/cache/archives/partial" "$state/debs"
echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror trixie main" >"$state/sources.list"
apt_opts=(-o "Dir::Etc::SourceList=$state/sources.list" -o "Dir::Etc::SourceParts=$state/none"
          -o "Dir::State::Lists=$state/lists" -o "Dir::Cache=$state/cache"
          -o "APT::Architecture=amd64" -o "Debug::NoLocking=1" -o "APT::Sandbox::User=root")
log "fetching Debian 13 criu from $mirror"
apt-get "${apt_opts[@]}" update -qq
(cd "$state/debs" && apt-get "${apt_opts[@]}" download -qq "${pkgs[@]}")

rm -rf "$prefix.new"
mkdir -p "$prefix.new"
for deb in "$state"/debs/*.deb; do dpkg-deb -x "$deb" "$prefix.new"; done
rm -rf "$prefix"
mv "$prefix.new" "$prefix"

write_wrapper

if ! usable "$wrapper"; then
  log "criu in $prefix does not pass 'criu check':"
  "$wrapper" check >&2 || true
  exit 1
fi
case ":$PATH:" in *":$(dirname "$wrapper"):"*) ;; *) log "note: add $(dirname "$wrapper") to PATH" ;; esac
log "criu $("$wrapper" --version | sed -n 's/^Version: //p') ready: $wrapper"
