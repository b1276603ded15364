#!/usr/bin/env bash
# The Node.js lines framewire supports: 22, 24, 26 (Node 18 and 20 are past end of life).
#   run.sh              runs the Node tests (test/node/, on dist/) on every supported line
#   run.sh exec CMD...  runs CMD with the newest LTS line (24) first in PATH (interop, pack checks)
# The binaries are npm packages pinned in test/node-lines/package-lock.json, installed here with
# npm ci on first use. They are linux-x64 builds; elsewhere the `node` in PATH is used, and it
# must be one of the supported lines.
set -euo pipefail
cd "$(dirname "$0")/../.."
lines=(22 24 26)
default_line=24
if [ "$(uname -s)-$(uname -m)" != "Linux-x86_64" ]; then
  echo "== node-lines: the pinned binaries are linux-x64 only; using the node in PATH ($(node --version))"
  if [ "${1:-}" = exec ]; then shift; exec "$@"; fi
  exec node --test test/node/*.test.mjs
fi
if ! [ -x test/node-lines/node_modules/node26/bin/node ]; then
  echo "== node-lines: installing Node ${lines[*]} (npm ci, pinned in test/node-lines/package-lock.json)"
  npm ci --prefix test/node-lines --no-audit --no-fund --loglevel=error
fi
if [ "${1:-}" = exec ]; then
  shift
  PATH="$PWD/test/node-lines/node_modules/node$default_line/bin:$PATH" exec "$@"
fi
for line in "${lines[@]}"; do
  bin="test/node-lines/node_modules/node$line/bin/node"
  echo "== node tests on Node $("$bin" --version)"
  "$bin" --test test/node/*.test.mjs
done
