#!/usr/bin/env bash
# The README's "test" command: installs what the tests need, starts the lab
# (real dockerd engines in network namespaces + a registry), runs the whole
# suite with Node's test runner, tears the lab down, exits non-zero on failure.
#
#   LAB_NODES=5 LAB_MANAGERS=3   engines in the shared lab, and how many are Swarm managers (the rest workers)
#   FLOTILLA_TEST_FILES    run only these test files (space-separated globs)
#   FLOTILLA_TEST_PG_PASS=0   skip the second pass (store, API and cluster suites on PostgreSQL) after a full run
#   FLOTILLA_TEST_DATABASE=postgres   test servers (test/helpers/server.ts, server-process.ts) keep
#                          their store on PostgreSQL instead of SQLite: one Debian PostgreSQL is
#                          started for the run in its own temporary data directory on a unix socket
#                          (test/helpers/postgres-cli.ts), a database per test server; default sqlite
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
[ "$(id -u)" = 0 ] || { echo "flotilla: the test lab needs root (network namespaces, dockerd)" >&2; exit 1; }
bash scripts/install-test-deps.sh
# shellcheck source=setup.sh
. scripts/setup.sh

lab() { node --disable-warning=ExperimentalWarning test/lab/cli.ts "$@"; }
pgdir=""
cleanup() {
  local rc=$?
  lab down || { echo "flotilla: lab teardown reported leftovers" >&2; rc=1; }
  [ -z "$pgdir" ] || node --disable-warning=ExperimentalWarning test/helpers/postgres-cli.ts stop "$pgdir" || rc=1
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
lab down >/dev/null 2>&1 || true   # a previous run that was killed
lab up "${LAB_NODES:-5}" --swarm --managers "${LAB_MANAGERS:-3}"
export FLOTILLA_REQUIRE_LAB=1
case "${FLOTILLA_TEST_DATABASE:-sqlite}" in
  sqlite) ;;
  postgres)
    read -r pgdir FLOTILLA_TEST_POSTGRES_URL < <(node --disable-warning=ExperimentalWarning test/helpers/postgres-cli.ts start) || true
    [ -n "${FLOTILLA_TEST_POSTGRES_URL:-}" ] || { echo "flotilla: could not start PostgreSQL for FLOTILLA_TEST_DATABASE=postgres" >&2; exit 1; }
    export FLOTILLA_TEST_DATABASE FLOTILLA_TEST_POSTGRES_URL
    ;;
  *) echo "flotilla: FLOTILLA_TEST_DATABASE must be sqlite or postgres, not ${FLOTILLA_TEST_DATABASE}" >&2; exit 2 ;;
esac

files=${FLOTILLA_TEST_FILES:-"test/**/*.test.ts"}
# Globs are expanded by node's runner (it knows **), not by bash.
set -f
run_tests() { node --test --test-concurrency=3 --test-timeout=600000 --test-reporter=spec "$@"; }
rc=0
# shellcheck disable=SC2086
run_tests $files || rc=$?

# The whole suite ran on SQLite: the store, API and cluster suites run again on PostgreSQL
# (FLOTILLA_TEST_PG_PASS=0 skips it; a run with FLOTILLA_TEST_FILES or on PostgreSQL already does not need it).
if [ -z "${FLOTILLA_TEST_FILES:-}" ] && [ -z "$pgdir" ] && [ "${FLOTILLA_TEST_PG_PASS:-1}" = 1 ]; then
  echo "flotilla: the store, API and cluster suites again, on PostgreSQL" >&2
  read -r pgdir FLOTILLA_TEST_POSTGRES_URL < <(node --disable-warning=ExperimentalWarning test/helpers/postgres-cli.ts start) || true
  [ -n "${FLOTILLA_TEST_POSTGRES_URL:-}" ] || { echo "flotilla: could not start PostgreSQL" >&2; exit 1; }
  FLOTILLA_TEST_DATABASE=postgres FLOTILLA_TEST_POSTGRES_URL=$FLOTILLA_TEST_POSTGRES_URL run_tests 'test/store/*.test.ts' 'test/api/*.test.ts' 'test/cluster/*.test.ts' || rc=$?
fi
exit "$rc"
