#!/usr/bin/env bash
# Builds the site if needed and serves build/web on http://127.0.0.1:PORT/ (default 8080) with a
# small static server that supports Range requests and needs no special headers.
set -euo pipefail
cd "$(dirname "$0")/.."
PORT=${1:-8080}
if [ -z "${SKIP_SETUP:-}" ]; then scripts/setup.sh; fi
if [ ! -f build/web/index.html ] || [ ! -f build/web/wasm/gguf_squash_base.wasm ]; then
  scripts/build.sh wasm web
fi
exec node scripts/static-server.mjs build/web "$PORT"
