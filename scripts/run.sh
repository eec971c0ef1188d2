#!/usr/bin/env bash
# The README's "run" command: sets up and runs Flotilla on this machine — the
# server on embedded SQLite with the local Docker engine registered as host
# "local". Ctrl-C stops it; a second run keeps the data and starts in seconds.
#
#   FLOTILLA_INSTALL_DOCKER=0   never install/start a Docker engine
#   FLOTILLA_KEEP_DOCKER=1      leave a dockerd we started running on exit
#   FLOTILLA_PORT, FLOTILLA_LISTEN_HOST, FLOTILLA_DATA_DIR …   see README
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=setup.sh
. "$root/scripts/setup.sh"

engine_note=""
if bash scripts/ensure-docker.sh "$root"; then
  export FLOTILLA_LOCAL_ENGINE=${FLOTILLA_LOCAL_ENGINE:-unix:///var/run/docker.sock}
else
  engine_note="no local Docker engine: Flotilla runs without one (add hosts with 'flotilla host add')"
  echo "flotilla: $engine_note" >&2
fi
export FLOTILLA_DATA_DIR=${FLOTILLA_DATA_DIR:-$root/.flotilla/data}

bin/flotilla server &
server=$!
stop() { kill -TERM "$server" 2>/dev/null || true; }
trap stop INT TERM
rc=0
wait "$server" || rc=$?
# wait returns early when a trapped signal arrives: wait again for the clean shutdown.
if kill -0 "$server" 2>/dev/null; then wait "$server" || rc=$?; fi

pidfile=$root/.flotilla/dockerd.pid
if [ "${FLOTILLA_KEEP_DOCKER:-0}" != 1 ] && [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
  echo "flotilla: stopping the dockerd this command started (FLOTILLA_KEEP_DOCKER=1 keeps it)" >&2 2>/dev/null || true
  kill -TERM "$(cat "$pidfile")" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$(cat "$pidfile" 2>/dev/null || echo 0)" 2>/dev/null || break; sleep 0.1; done
fi
exit "$rc"
