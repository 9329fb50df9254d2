#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan+UBSan) and runs each for SECONDS (default 60).
# The seed corpus is the fixtures plus tests/fixtures/malformed; findings land in build/fuzz/
# artifacts (crash-*, leak-*, timeout-*), and the script fails if any target finds one.
#   scripts/fuzz.sh [SECONDS] [TARGET...]
set -uo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_TARGET=${1:-60}; shift || true
CXX=clang++ CC=clang cmake -S . -B build/fuzz -DGGUF_SQUASH_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null || exit 1
cmake --build build/fuzz -j"$(nproc)" >/dev/null || { cmake --build build/fuzz -j1; exit 1; }

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for t in build/fuzz/fuzz_*; do [ -x "$t" ] && targets+=("$(basename "$t")"); done
fi

# Seeds: each fixture's first 64 KiB (headers and truncations alike), behind the two control
# bytes the targets read first.
seeds=build/fuzz/seeds; rm -rf "$seeds"; mkdir -p "$seeds"
i=0
for f in tests/fixtures/kernels/*.gguf tests/fixtures/models/*.gguf tests/fixtures/vocab/*.gguf \
         tests/fixtures/malformed/* tests/fuzz/regressions/*; do
  [ -f "$f" ] || continue
  { printf '\x07\x01'; head -c 65536 "$f"; } > "$seeds/seed-$i"; i=$((i + 1))
done

status=0
for t in "${targets[@]}"; do
  corpus=build/fuzz/corpus-$t; mkdir -p "$corpus" build/fuzz/artifacts
  echo "fuzz: $t for ${SECONDS_PER_TARGET}s"
  if ! build/fuzz/$t "$corpus" "$seeds" -max_total_time="$SECONDS_PER_TARGET" -max_len=65536 \
       -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
       -artifact_prefix=build/fuzz/artifacts/$t- 2>build/fuzz/$t.log; then
    echo "fuzz: $t FOUND A PROBLEM (see build/fuzz/$t.log and build/fuzz/artifacts/)"
    tail -40 build/fuzz/$t.log
    status=1
  else
    grep -E "stat::number_of_executed_units|stat::peak_rss_mb" build/fuzz/$t.log | sed "s/^/fuzz: $t /"
  fi
done
exit $status
