#!/usr/bin/env bash
# Builds everything and runs every test suite: native GoogleTest (ctest), the same suite compiled
# to wasm under node (SIMD and baseline builds), the sanitizer build, the JS tests (node --test),
# the browser tests (Playwright + Debian Chromium) and short fuzz runs, after the style checks
# (scripts/lint.sh: clang-format and ESLint). Prints one summary and
# exits non-zero if anything failed.
#   SKIP_SETUP=1   skip apt/npm checks      FAST=1   skip the sanitizer build and fuzzing
set -uo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

declare -a names results
failed=0
stage() {  # stage NAME COMMAND...
  local name=$1; shift
  echo "::: $name"
  local t0=$SECONDS
  if "$@"; then results+=("PASS  $name ($((SECONDS - t0))s)")
  else results+=("FAIL  $name ($((SECONDS - t0))s)"); failed=$((failed + 1)); fi
}

if [ -z "${SKIP_SETUP:-}" ]; then
  scripts/setup.sh || { echo "setup failed"; exit 1; }
fi
stage "lint (clang-format, ESLint)" scripts/lint.sh
stage "build native" scripts/build.sh native || true
stage "build wasm" scripts/build.sh wasm || true
stage "build web" scripts/build.sh web || true

stage "native tests (ctest)" ctest --test-dir build/native --output-on-failure -j"$JOBS" --timeout 1200

wasm_tests() {
  local ok=0
  for v in simd base; do
    local js=build/wasm/gguf_squash_tests_$v.cjs
    [ -f "$js" ] || { echo "missing $js"; return 1; }
    echo "--- wasm tests ($v)"
    node "$js" --gtest_brief=1 || ok=1
  done
  return $ok
}
stage "wasm tests under node" wasm_tests

if [ -z "${FAST:-}" ]; then
  asan_tests() {
    scripts/build.sh asan && \
      ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
      GGUF_SQUASH_TEST_LIGHT=1 ctest --test-dir build/asan --output-on-failure -j"$JOBS" --timeout 1800
  }
  stage "native tests under ASan+UBSan" asan_tests
  if [ -x scripts/fuzz.sh ]; then stage "fuzzing (45 s per target)" scripts/fuzz.sh 45; fi
fi

js_tests=$(ls tests/js/*.test.mjs 2>/dev/null)
if [ -n "$js_tests" ]; then stage "JS tests (node --test)" node --test $js_tests; fi
browser_tests=$(ls tests/browser/*.test.mjs 2>/dev/null)
if [ -n "$browser_tests" ]; then
  stage "browser tests (Playwright + Chromium)" node --test --test-concurrency=1 $browser_tests
fi

echo
echo "=== gguf-squash test summary ==="
printf '%s\n' "${results[@]}"
passed=$(( ${#results[@]} - failed ))
echo "suites: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
