#!/usr/bin/env bash
# Installs everything a fresh Debian 12 machine lacks for building, testing and serving.
# Idempotent: packages already present are not reinstalled, npm ci runs only when needed.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(cmake g++ make libgtest-dev libbenchmark-dev nlohmann-json3-dev emscripten chromium
              clang libclang-rt-14-dev libcurl4-openssl-dev time)
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Node and npm may come from outside Debian (e.g. a newer Node with its own npm); Debian's npm
# package would conflict with those, so install them from apt only when the commands are absent.
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# Each devDependency the scripts call directly (playwright-core for the browser tests, eslint for
# scripts/lint.sh) must be present; a newer lock file than the installed tree means npm ci again.
if [ ! -d node_modules/playwright-core ] || [ ! -x node_modules/.bin/eslint ] ||
   [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: npm ci"
  npm ci --no-audit --no-fund --loglevel=error
fi
