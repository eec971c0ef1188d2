#!/usr/bin/env bash
# Makes sure a Docker engine answers on /var/run/docker.sock (used by the
# product's "run" command).
#
#   scripts/ensure-docker.sh [REPO_ROOT]
#
# * An engine already answers GET /_ping: print which one, exit 0 (fast).
# * Otherwise, unless FLOTILLA_INSTALL_DOCKER=0: install Debian's docker.io if
#   missing (apt-get, no service start) and start dockerd in the background
#   (root netns, default socket /var/run/docker.sock, log REPO_ROOT/.flotilla/dockerd.log,
#   pidfile REPO_ROOT/.flotilla/dockerd.pid), wait until /_ping answers (60 s).
# * FLOTILLA_INSTALL_DOCKER=0 and no engine: exit 1 with a message.
#
# The engine listens on the unix socket only (no TCP, so dockerd 20.10's ~16 s
# "insecure TCP" start-up delay does not apply).
set -Eeuo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=${1:-$(cd "$HERE/.." && pwd)}
SOCK=/var/run/docker.sock
STATE="$ROOT/.flotilla"
LOG="$STATE/dockerd.log"
PIDFILE="$STATE/dockerd.pid"
DEADLINE=${FLOTILLA_DOCKER_START_TIMEOUT:-60}

say()  { printf 'flotilla: %s\n' "$*" >&2; }
die()  { printf 'flotilla: ERROR: %s\n' "$*" >&2; exit 1; }

# GET /_ping on the socket; prints nothing, true when the engine answers OK
engine_ping() {
  [ -S "$SOCK" ] || return 1
  [ "$(curl -s --max-time 2 --unix-socket "$SOCK" http://localhost/_ping 2>/dev/null)" = OK ]
}
# "Docker Engine 20.10.24 (API 1.41, linux/amd64)"
engine_desc() {
  local v
  v=$(curl -s --max-time 2 --unix-socket "$SOCK" http://localhost/version 2>/dev/null || true)
  printf 'Docker Engine %s (API %s, %s/%s)' \
    "$(json_field "$v" Version)" "$(json_field "$v" ApiVersion)" "$(json_field "$v" Os)" "$(json_field "$v" Arch)"
}
json_field() { # json key -> first top-level-looking "key":"value"
  printf '%s' "$1" | tr ',' '\n' | sed -n "s/^[{[]*\"$2\":\"\\([^\"]*\\)\".*/\\1/p" | head -1
}
# alive and not a zombie (a SIGKILLed dockerd is briefly a zombie; its pidfile then blocks a restart)
pid_alive() {
  [ -n "${1:-}" ] && [ -r "/proc/$1/stat" ] || return 1
  local s; s=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1)
  [ -n "$s" ] && [ "$s" != Z ] && [ "$s" != X ]
}
pid_is_dockerd() { pid_alive "$1" && tr '\0' ' ' < "/proc/$1/cmdline" 2>/dev/null | grep -q 'dockerd'; }

report_ok() {
  local who="an engine not started by flotilla"
  local p; p=$(cat "$PIDFILE" 2>/dev/null || true)
  if [ -n "$p" ] && pid_is_dockerd "$p"; then who="dockerd pid $p started by flotilla (log $LOG)"; fi
  say "$(engine_desc) answers on unix://$SOCK: $who"
}

# ------------------------------------------------------------- fast path ---
if command -v curl >/dev/null 2>&1 && engine_ping; then
  report_ok
  exit 0
fi

# ------------------------------------------------------------- no engine ---
if [ "${FLOTILLA_INSTALL_DOCKER:-1}" = 0 ]; then
  die "no Docker engine answers on unix://$SOCK, and FLOTILLA_INSTALL_DOCKER=0 forbids installing/starting one.
  Start Docker yourself (e.g. 'sudo systemctl start docker'), or unset FLOTILLA_INSTALL_DOCKER
  (or set FLOTILLA_INSTALL_DOCKER=1) to let flotilla install Debian's docker.io and start dockerd."
fi

[ "$(id -u)" = 0 ] || die "no Docker engine answers on unix://$SOCK; installing/starting one needs root (run with sudo), or start Docker yourself"

cat >&2 <<EOF
flotilla: ====================================================================
flotilla: No Docker engine answers on unix://$SOCK.
flotilla: flotilla will now INSTALL Debian's docker.io package (if missing) and
flotilla: START dockerd in the background (root network namespace, default socket,
flotilla: log $LOG, pidfile $PIDFILE).
flotilla: Set FLOTILLA_INSTALL_DOCKER=0 to forbid this.
flotilla: ====================================================================
EOF

need=()
command -v dockerd >/dev/null 2>&1 || need+=(docker.io)
command -v curl >/dev/null 2>&1 || need+=(curl)
if [ ${#need[@]} -gt 0 ]; then
  say "installing ${need[*]} with apt-get"
  bash "$HERE/install-test-deps.sh" "${need[@]}" || die "could not install ${need[*]}"
fi
command -v dockerd >/dev/null 2>&1 || die "dockerd not found after installing docker.io"

# curl was missing on the fast path: maybe an engine answers after all
if engine_ping; then report_ok; exit 0; fi

mkdir -p "$STATE"
started=""
p=$(cat "$PIDFILE" 2>/dev/null || true)
sp=$(cat /var/run/docker.pid 2>/dev/null || true)
if [ -n "$p" ] && pid_is_dockerd "$p"; then
  say "dockerd pid $p (started earlier by flotilla) is running but not answering yet; waiting for it"
elif [ -n "$sp" ] && pid_is_dockerd "$sp"; then
  say "a dockerd (pid $sp, /var/run/docker.pid) is running but not answering yet; waiting for it"
else
  # stale pidfile (e.g. after kill -9): dockerd refuses to start while it names a live pid
  rm -f "$PIDFILE"
  # The containerd a killed dockerd started outlives it for a moment; a new dockerd
  # that finds it "still running" waits for it and fails with "timeout waiting for
  # containerd to start" (reproduced). Stop it first (its shims and containers stay).
  CPIDFILE=/var/run/docker/containerd/containerd.pid
  cp=$(cat "$CPIDFILE" 2>/dev/null || true)
  if [ -n "$cp" ] && pid_alive "$cp" && tr '\0' ' ' < "/proc/$cp/cmdline" 2>/dev/null | grep -q "containerd --config /var/run/docker/containerd/"; then
    say "stopping containerd pid $cp left behind by a dockerd that is gone"
    kill -TERM "$cp" 2>/dev/null || true
    for _ in $(seq 1 100); do pid_alive "$cp" || break; sleep 0.1; done
    if pid_alive "$cp"; then kill -KILL "$cp" 2>/dev/null || true; sleep 0.2; fi
  fi
  rm -f "$CPIDFILE"
  : >> "$LOG"
  printf '\n==== %s: started by flotilla scripts/ensure-docker.sh ====\n' "$(date -u +%FT%TZ)" >> "$LOG"
  setsid dockerd --pidfile "$PIDFILE" -H "unix://$SOCK" >> "$LOG" 2>&1 < /dev/null &
  started=$!
  say "started dockerd (pid $started); waiting up to ${DEADLINE}s for /_ping"
fi

t0=$(date +%s%N)
end=$(( $(date +%s) + DEADLINE ))
until engine_ping; do
  if [ -n "$started" ] && ! pid_alive "$started" && ! pid_is_dockerd "$(cat "$PIDFILE" 2>/dev/null || true)"; then
    tail -n 20 "$LOG" >&2 || true
    die "dockerd exited during start-up (log: $LOG)"
  fi
  [ "$(date +%s)" -lt "$end" ] || { tail -n 20 "$LOG" >&2 || true; die "no answer on unix://$SOCK after ${DEADLINE}s (log: $LOG)"; }
  sleep 0.1
done
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
say "$(engine_desc) ready on unix://$SOCK after ${ms} ms"
report_ok
