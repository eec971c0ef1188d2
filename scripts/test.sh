#!/usr/bin/env bash
# The README's "test" command: installs what the tests need, starts the lab
# (real dockerd engines in network namespaces + a registry), runs the whole
# suite with Node's test runner, tears the lab down, exits non-zero on failure.
#
#   LAB_NODES=5 LAB_MANAGERS=3   engines in the shared lab, and how many are Swarm managers (the rest workers)
#   FLOTILLA_TEST_FILES    run only these test files (space-separated globs)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
[ "$(id -u)" = 0 ] || { echo "flotilla: the test lab needs root (network namespaces, dockerd)" >&2; exit 1; }
bash scripts/install-test-deps.sh
# shellcheck source=setup.sh
. scripts/setup.sh

lab() { node --disable-warning=ExperimentalWarning test/lab/cli.ts "$@"; }
cleanup() {
  local rc=$?
  lab down || { echo "flotilla: lab teardown reported leftovers" >&2; rc=1; }
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
lab down >/dev/null 2>&1 || true   # a previous run that was killed
lab up "${LAB_NODES:-5}" --swarm --managers "${LAB_MANAGERS:-3}"
export FLOTILLA_REQUIRE_LAB=1

files=${FLOTILLA_TEST_FILES:-"test/**/*.test.ts"}
# Globs are expanded by node's runner (it knows **), not by bash.
set -f
# shellcheck disable=SC2086
node --test --test-concurrency=3 --test-timeout=600000 --test-reporter=spec $files
