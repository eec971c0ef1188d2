#!/usr/bin/env bash
# Shared by run.sh and test.sh: Node 24 project-locally, npm packages (only
# when package-lock.json changed), and a typecheck (only when sources changed).
# Source it: `. scripts/setup.sh`.
FLOTILLA_ROOT=${FLOTILLA_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
cd "$FLOTILLA_ROOT" || return 1
# shellcheck source=ensure-node.sh
. scripts/ensure-node.sh || return 1
export npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false

stamp_dir=.flotilla/stamps
mkdir -p "$stamp_dir"
lock_hash=$(sha256sum package-lock.json | cut -d' ' -f1)-$(node -p process.version)
if [ ! -d node_modules ] || [ "$(cat "$stamp_dir/npm-ci" 2>/dev/null)" != "$lock_hash" ]; then
  echo "flotilla: installing npm packages (npm ci)" >&2
  npm ci --loglevel=error 2>&1 | grep -v 'Unknown env config "nodedir"' >&2 || true
  [ -d node_modules/fastify ] || { echo "flotilla: npm ci failed" >&2; return 1; }
  echo "$lock_hash" > "$stamp_dir/npm-ci"
fi

src_hash=$(find src test bench tsconfig.json package-lock.json -type f \( -name '*.ts' -o -name '*.json' \) -print0 2>/dev/null | sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp_dir/build" 2>/dev/null)" != "$src_hash" ]; then
  echo "flotilla: building (typecheck)" >&2
  node node_modules/typescript/bin/tsc -p tsconfig.json || { echo "flotilla: typecheck failed" >&2; return 1; }
  echo "$src_hash" > "$stamp_dir/build"
fi

# The dashboard (web/): typecheck and a Vite build into web/dist, only when its sources changed.
web_hash=$(find web -path web/dist -prune -o -type f -print0 2>/dev/null | sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1)-$lock_hash
if [ ! -f web/dist/index.html ] || [ "$(cat "$stamp_dir/web" 2>/dev/null)" != "$web_hash" ]; then
  echo "flotilla: building the dashboard (vite)" >&2
  node node_modules/typescript/bin/tsc -p web/tsconfig.json || { echo "flotilla: dashboard typecheck failed" >&2; return 1; }
  node node_modules/vite/bin/vite.js build web --logLevel warn || { echo "flotilla: dashboard build failed" >&2; return 1; }
  echo "$web_hash" > "$stamp_dir/web"
fi
