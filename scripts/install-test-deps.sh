#!/usr/bin/env bash
# Installs the system packages the test lab (test/lab/), the pty tests and the
# PostgreSQL store tests (test/helpers/postgres.ts) need, with apt-get (Debian 12
# / Ubuntu). Idempotent: when everything is installed it returns at once,
# without apt-get update.
#
#   sudo bash scripts/install-test-deps.sh            # the full list below
#   sudo bash scripts/install-test-deps.sh docker.io  # only these packages (used by ensure-docker.sh)
#
# It never starts a system dockerd or PostgreSQL: the lab starts its own engines,
# the tests their own PostgreSQL. Package scripts that try to start services
# (docker, containerd, docker-registry, postgresql) are stopped by a policy-rc.d
# that denies every start (exit 101) for the duration of the install; an
# existing policy-rc.d is put back afterwards.
set -Eeuo pipefail

PKGS=(docker.io docker-registry busybox-static iproute2 util-linux curl iptables tmux docker-compose chromium fonts-dejavu-core postgresql)
[ $# -gt 0 ] && PKGS=("$@")

# one dpkg-query for all of them (fast path)
missing_now() {
  local ok
  ok=$(dpkg-query -W -f='${Package} ${Status}\n' "$@" 2>/dev/null | awk '$2=="install" && $3=="ok" && $4=="installed" {print $1}' || true)
  for p in "$@"; do grep -qx -- "${p%%:*}" <<<"$ok" || echo "$p"; done
}
mapfile -t missing < <(missing_now "${PKGS[@]}")
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-test-deps: already installed: ${PKGS[*]}" >&2
  exit 0
fi

if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null 2>&1; then exec sudo -E bash "$0" "$@"; fi
  echo "install-test-deps: must run as root to install: ${missing[*]}" >&2
  exit 1
fi
command -v apt-get >/dev/null || { echo "install-test-deps: apt-get not found; install by hand: ${missing[*]}" >&2; exit 1; }

echo "install-test-deps: installing ${missing[*]}" >&2

# Deny service starts while installing (no system dockerd / containerd / registry).
POLICY=/usr/sbin/policy-rc.d
SAVED=""
if [ -e "$POLICY" ]; then
  SAVED="$POLICY.flotilla-saved.$$"
  mv "$POLICY" "$SAVED"
fi
restore_policy() {
  rm -f "$POLICY"
  if [ -n "$SAVED" ] && [ -e "$SAVED" ]; then mv "$SAVED" "$POLICY"; fi
}
trap restore_policy EXIT
printf '#!/bin/sh\n# written by flotilla scripts/install-test-deps.sh during an install\nexit 101\n' > "$POLICY"
chmod 755 "$POLICY"

export DEBIAN_FRONTEND=noninteractive
APT_OPTS=(-q -o Dpkg::Use-Pty=0 -o DPkg::Lock::Timeout=300 -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)
# one update per run (the package lists may be missing or old on a fresh machine)
apt-get "${APT_OPTS[@]}" -qq update >/dev/null || { echo "install-test-deps: apt-get update failed" >&2; exit 1; }
# --no-install-recommends: keeps out e.g. needrestart (which restarts services)
apt-get "${APT_OPTS[@]}" -qq -y --no-install-recommends install "${missing[@]}" >/dev/null ||
  { echo "install-test-deps: apt-get install ${missing[*]} failed" >&2; exit 1; }

mapfile -t bad < <(missing_now "${missing[@]}")
if [ ${#bad[@]} -gt 0 ]; then
  echo "install-test-deps: not installed after apt-get: ${bad[*]}" >&2
  exit 1
fi
echo "install-test-deps: installed ${missing[*]}" >&2
