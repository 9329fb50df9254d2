#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan+UBSan) and runs each for SECONDS (default 60), one
# process per target (the machine is shared), niced.
#   scripts/fuzz.sh [SECONDS] [TARGET...]
# Targets: every tests/fuzz/fuzz_*.cpp (fuzz_gguf_reader, fuzz_quantize_pipeline,
# fuzz_kernels_differential).
# Seeds: every target first gets its own regressions, tests/fuzz/regressions/TARGET/ (each crash
# input found so far, exactly as libFuzzer saved it). The reader and pipeline targets also get the
# fixtures and tests/fixtures/malformed/* (first 64 KiB, behind the two control bytes they read
# first), and the pipeline target a few "built model" seeds (control byte 1 even: the target
# builds a tiny llama-style model from the bytes); the kernels target gets one seed per type and
# value style, weights from the golden fixture. The corpus grows in build/fuzz/corpus-TARGET
# across runs. Findings land in build/fuzz/artifacts/ (crash-*, leak-*, timeout-*, oom-*) and the
# script exits non-zero; copy each into tests/fuzz/regressions/TARGET/ (and into
# tests/fixtures/malformed/ when it is a hostile GGUF) and record it in docs/RELIABILITY.md.
set -uo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_TARGET=${1:-60}; shift || true
JOBS=${JOBS:-2}
CXX=clang++ CC=clang cmake -S . -B build/fuzz -DGGUF_SQUASH_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null || exit 1
nice -n 10 cmake --build build/fuzz -j"$JOBS" >/dev/null || { cmake --build build/fuzz -j1; exit 1; }

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for t in build/fuzz/fuzz_*; do [ -x "$t" ] && targets+=("$(basename "$t")"); done
fi

seeds=build/fuzz/seeds; rm -rf "$seeds"; mkdir -p "$seeds"
i=0
for f in tests/fixtures/kernels/*.gguf tests/fixtures/models/*.gguf tests/fixtures/vocab/*.gguf \
         tests/fixtures/malformed/*.gguf; do
  [ -f "$f" ] || continue
  { printf '\x07\x01'; head -c 65536 "$f"; } > "$seeds/seed-$i"; i=$((i + 1))
done
# Built-model seeds for the pipeline: every file type, assorted flags, weights from a fixture.
built=build/fuzz/seeds-built; rm -rf "$built"; mkdir -p "$built"
for ft in $(seq 0 47); do
  flags=$(( (ft * 74 + 8) & 0xfe ))
  { printf "\\x$(printf %02x "$ft")\\x$(printf %02x "$flags")"
    tail -c +$((4096 + ft * 512 + 1)) tests/fixtures/kernels/golden-seed1.gguf | head -c 600; } \
    > "$built/built-$ft"
done

# Kernel seeds: [type][flags][blocks][rows] then values, for every type index and value style
# (flags bit 0 alternates the importance weights), with odd block counts.
kseeds=build/fuzz/seeds-kernels; rm -rf "$kseeds"; mkdir -p "$kseeds"
for ty in $(seq 0 39); do
  for style in $(seq 0 7); do
    flags=$(( (style << 1) | (ty & 1) ))
    { printf "\\x$(printf %02x "$ty")\\x$(printf %02x "$flags")\\x$(printf %02x $((ty * 7 + style)))\\x$(printf %02x "$style")"
      tail -c +$((8192 + ty * 1024 + style * 128 + 1)) tests/fixtures/kernels/golden-seed1.gguf | head -c 2048; } \
      > "$kseeds/kernels-$ty-$style"
  done
done

status=0
for t in "${targets[@]}"; do
  corpus=build/fuzz/corpus-$t; mkdir -p "$corpus" build/fuzz/artifacts
  extra=(); dirs=()
  [ -d "tests/fuzz/regressions/$t" ] && dirs+=("tests/fuzz/regressions/$t")
  case "$t" in
    # Bounded memory: the job's slabs are small; any single allocation over 256 MiB is a finding.
    fuzz_quantize_pipeline) extra=(-malloc_limit_mb=256 -max_len=65536); dirs+=("$built" "$seeds") ;;
    fuzz_kernels_differential) extra=(-malloc_limit_mb=256 -max_len=16384); dirs+=("$kseeds") ;;
    *) extra=(-max_len=65536); dirs+=("$seeds") ;;
  esac
  echo "fuzz: $t for ${SECONDS_PER_TARGET}s"
  if ! nice -n 10 build/fuzz/$t "$corpus" "${dirs[@]}" -max_total_time="$SECONDS_PER_TARGET" \
       "${extra[@]}" -rss_limit_mb=2048 -timeout=20 -print_final_stats=1 \
       -artifact_prefix=build/fuzz/artifacts/$t- 2>build/fuzz/$t.log; then
    echo "fuzz: $t FOUND A PROBLEM (see build/fuzz/$t.log and build/fuzz/artifacts/)"
    tail -40 build/fuzz/$t.log
    status=1
  else
    grep -E "stat::number_of_executed_units|stat::average_exec_per_sec|stat::peak_rss_mb" \
      build/fuzz/$t.log | sed "s/^/fuzz: $t /"
  fi
done
exit $status
