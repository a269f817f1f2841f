#!/usr/bin/env bash
# Prints the Debian archive URI this machine's apt already uses (first `.../debian` URI of the
# deb822 or one-line sources, -security excluded), or GPUCR_DEBIAN_MIRROR when set. Exits 1 when
# there is none. Used by install-criu.sh and tests/hosts/sid-root.sh: no host name is written
# into the repository; the machine's own sources say where its archive is.
set -euo pipefail
if [ -n "${GPUCR_DEBIAN_MIRROR:-}" ]; then
  echo "$GPUCR_DEBIAN_MIRROR"
  exit 0
fi
mirror=$( { grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources | awk '{print $2}'
            grep -hs '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list |
              sed 's/\[[^]]*\]//' | awk '{print $2}'; } 2>/dev/null |
          grep -E '/debian/?$' | head -n1) || true
if [ -z "$mirror" ]; then
  echo "no Debian archive found in /etc/apt/sources*; set GPUCR_DEBIAN_MIRROR to a Debian mirror URI" >&2
  exit 1
fi
echo "$mirror"
