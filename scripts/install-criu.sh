#!/usr/bin/env bash
# Makes the newest working criu available as `criu` on PATH: 4.2 or newer where it can be had
# (Debian unstable ships 4.2.1), else >= 4.0 (Debian 13 ships 4.1.1). gpucr works with 4.0 and
# 4.1 too; 4.2 is preferred because it notices by itself when hardware breakpoints don't work
# (on some VMs: docs/FACTS.md §8), where 4.1 hangs at the end of every dump.
#
#   1. a criu already on PATH that is >= GPUCR_CRIU_WANT (default 4.2) and passes `criu check`:
#      keep it;
#   2. else the distribution's criu, when its candidate version is >= GPUCR_CRIU_WANT;
#   3. else criu and the libraries it needs from a newer Debian suite (GPUCR_CRIU_SUITES, default
#      "sid trixie": the first whose criu passes `criu check` wins), unpacked into a private prefix
#      (GPUCR_CRIU_PREFIX, default /opt/gpucr/criu) and started through its own dynamic loader by
#      a wrapper script (/usr/local/sbin/criu). The system's apt configuration and packages are
#      not changed: the suite's index lives in a private apt state directory. A criu older than
#      4.2 is started with CRIU_FAULT=130 (criu's "no hardware breakpoints" switch: it steps by
#      syscall instead, which works everywhere).
#   4. else a criu >= 4.0 already on PATH is kept.
# The archive URI is taken from this machine's apt sources (override: GPUCR_DEBIAN_MIRROR).
set -euo pipefail

prefix=${GPUCR_CRIU_PREFIX:-/opt/gpucr/criu}
wrapper=${GPUCR_CRIU_WRAPPER:-/usr/local/sbin/criu}
want=${GPUCR_CRIU_WANT:-4.2}
suites=${GPUCR_CRIU_SUITES:-sid trixie}

log() { echo "install-criu: $*" >&2; }

# "4.2.1" -> 4002 (major * 1000 + minor), empty when unknown.
version_code() { sed -n 's/^\([0-9]*\)\.\([0-9]*\).*/\1 \2/p' | awk '{print $1 * 1000 + $2}'; }
criu_code() { "$1" --version 2>/dev/null | sed -n 's/^Version: //p' | version_code; }
want_code=$(echo "$want" | version_code)

usable() { # path [minimum code] -> 0 when its version is high enough and `criu check` passes
  local code
  code=$(criu_code "$1")
  [ -n "$code" ] && [ "$code" -ge "${2:-$want_code}" ] && "$1" check >/dev/null 2>&1
}

if c=$(command -v criu) && usable "$c"; then
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  if c=$(command -v criu) && usable "$c" 4000; then exit 0; fi
  log "no working criu >= 4.0 on PATH; run this script as root to install one"
  exit 1
fi

candidate=$(apt-cache policy criu 2>/dev/null | sed -n 's/^ *Candidate: //p' | version_code)
if [ -n "$candidate" ] && [ "$candidate" -ge "$want_code" ]; then
  log "installing the distribution's criu"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends criu >/dev/null
  if usable "$(command -v criu)"; then exit 0; fi
  log "the distribution's criu fails 'criu check'; falling back to a private prefix"
fi

here=$(cd "$(dirname "$0")" && pwd)
mirror=$("$here/debian-mirror.sh")

# Unpacks criu of `suite` and everything it depends on into $prefix.new.
fetch_suite() {
  local suite=$1 state
  state=$(mktemp -d /tmp/gpucr-criu-apt.XXXXXX)
  mkdir -p "$state/lists/partial" "$state/cache/archives/partial" "$state/debs"
  echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror $suite main" >"$state/sources.list"
  # sid's Release file as the archive serves it may be a dated snapshot: accept it.
  local apt_opts=(-o "Dir::Etc::SourceList=$state/sources.list" -o "Dir::Etc::SourceParts=$state/none"
                  -o "Dir::State::Lists=$state/lists" -o "Dir::Cache=$state/cache"
                  -o "Dir::State::Status=/dev/null" -o "APT::Architecture=amd64" -o "Debug::NoLocking=1"
                  -o "APT::Sandbox::User=root" -o "Acquire::Check-Valid-Until=false")
  log "fetching criu from Debian $suite at $mirror"
  apt-get "${apt_opts[@]}" update -qq || { rm -rf "$state"; return 1; }
  # criu and its run-time dependencies, recursively (virtual packages have no candidate: skipped).
  local pkgs
  pkgs=$(apt-cache "${apt_opts[@]}" depends --recurse --no-recommends --no-suggests --no-conflicts \
           --no-breaks --no-replaces --no-enhances --no-pre-depends criu 2>/dev/null |
         grep -E '^[a-z0-9]' | sort -u | grep -vxE 'debconf|debconf-2.0|perl-base|dpkg|install-info')
  (cd "$state/debs" && apt-get "${apt_opts[@]}" download -qq $pkgs 2>/dev/null) || true
  rm -rf "$prefix.new"
  mkdir -p "$prefix.new"
  for deb in "$state"/debs/*.deb; do dpkg-deb -x "$deb" "$prefix.new"; done
  rm -rf "$state"
  [ -x "$prefix.new/usr/sbin/criu" ]
}

# The wrapper that starts the prefix's criu through the prefix's own dynamic loader.
write_wrapper() { # target prefix
  local fault=""
  local code
  code=$("$2/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2" --library-path "$2/usr/lib/x86_64-linux-gnu" \
           "$2/usr/sbin/criu" --version 2>/dev/null | sed -n 's/^Version: //p' | version_code)
  if [ -n "$code" ] && [ "$code" -lt 4002 ]; then
    fault=': "${CRIU_FAULT:=130}"; export CRIU_FAULT  # criu < 4.2: no hardware breakpoints (docs/FACTS.md §8)'
  fi
  mkdir -p "$(dirname "$1")"
  cat >"$1" <<WRAP
#!/bin/sh
# criu from Debian, unpacked by gpucr's scripts/install-criu.sh into $prefix
p=$prefix
$fault
exec "\$p/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2" --library-path "\$p/usr/lib/x86_64-linux-gnu" "\$p/usr/sbin/criu" "\$@"
WRAP
  chmod 755 "$1"
}

for suite in $suites; do
  if ! fetch_suite "$suite"; then
    log "could not fetch criu from Debian $suite"
    continue
  fi
  rm -rf "$prefix.old"
  [ -e "$prefix" ] && mv "$prefix" "$prefix.old"
  mv "$prefix.new" "$prefix"
  write_wrapper "$wrapper" "$prefix"
  if usable "$wrapper" 4000; then
    rm -rf "$prefix.old"
    case ":$PATH:" in *":$(dirname "$wrapper"):"*) ;; *) log "note: add $(dirname "$wrapper") to PATH" ;; esac
    log "criu $("$wrapper" --version | sed -n 's/^Version: //p') (Debian $suite) ready: $wrapper"
    exit 0
  fi
  log "criu from Debian $suite does not pass 'criu check':"
  "$wrapper" check >&2 || true
  rm -rf "$prefix"
  if [ -e "$prefix.old" ]; then
    mv "$prefix.old" "$prefix"
    write_wrapper "$wrapper" "$prefix"
  fi
done

if c=$(command -v criu) && usable "$c" 4000; then
  log "keeping $c ($("$c" --version | sed -n 's/^Version: //p')): no newer criu could be installed"
  exit 0
fi
log "no working criu >= 4.0 could be installed"
exit 1
