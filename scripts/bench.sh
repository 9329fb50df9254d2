#!/usr/bin/env bash
# Performance benchmarks for issue 8. Builds what is missing, generates the benchmark model
# (scripts/make-bench-model) if missing, then runs:
#   1. the native Google Benchmark suite (bench/: kernels per type and ISA, header parse, estimate)
#   2. the node wasm harness (wasm/bench_kernels.mjs: kernels, header parse, estimate table)
#   3. whole-model quantize runs under /usr/bin/time -v (native 1 and 2 threads, scalar and SIMD
#      kernels; node wasm/cli.mjs), checking that every run of a type writes the same bytes
#   4. the browser run (tests/browser/perf_browser.mjs) unless NO_BROWSER=1
# then prints one table and writes docs/PERFORMANCE.md (bench/report.mjs). Raw results go to
# build/bench/results/. These are benchmarks: nothing here fails on a slow figure.
#
#   scripts/bench.sh                 everything (about 15-30 minutes on an idle 2-core machine)
#   QUICK=1 scripts/bench.sh         shorter kernel runs, fewer whole-model runs
#   FULL=1 scripts/bench.sh          also the slow scalar IQ4_XS whole-model run
#   NATIVE_DIR=build/x WASM_DIR=build/y scripts/bench.sh    use other build directories
#   NO_BROWSER=1 / NO_WASM=1 / NO_MODEL=1 / NO_URL=1         skip parts (NO_URL: scripts/bench_url.sh,
#                                                            URL input vs disk, run last)
#   LLAMA_QUANTIZE=/path/to/llama-quantize scripts/bench.sh  also 5: every ftype (36, plus +imatrix
#                                                            rows) timed against llama-quantize
#   TYPES_ONLY=1          only stage 5 (with LLAMA_QUANTIZE, or on its earlier results); its section
#                         of docs/PERFORMANCE.md is replaced, the rest is left alone
#   TYPES_ENGINES='llama native wasm cp'   which columns stage 5 runs (each one replaces its own
#                         results file, so the columns can be measured at different times)
#   TYPES='Q4_0 IQ2_XXS ...'  the rows of stage 5 (default: all); REPS=N runs each N times (default
#                         2; the report takes the smallest CPU time); TYPES_APPEND=1 adds to the
#                         engines' results files instead of replacing them
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

NATIVE_DIR=${NATIVE_DIR:-build/native}
WASM_DIR=${WASM_DIR:-build/wasm}
MODEL=${GGUF_SQUASH_BENCH_MODEL:-build/bench/bench-model-f16.gguf}
RES=build/bench/results
mkdir -p "$RES"
export GGUF_SQUASH_BENCH_MODEL=$MODEL

log() { echo "bench: $*" >&2; }

TYPES_ONLY=${TYPES_ONLY:-}

# --- builds -------------------------------------------------------------------------------------
if [ ! -x "$NATIVE_DIR/gguf_squash_bench" ] || [ ! -x "$NATIVE_DIR/gguf-squash" ] ||
   [ ! -x "$NATIVE_DIR/make-bench-model" ]; then
  log "building native in $NATIVE_DIR"
  cmake -S . -B "$NATIVE_DIR" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$NATIVE_DIR" -j"$JOBS" --target gguf_squash_bench gguf-squash make-bench-model
fi
if [ -z "${NO_WASM:-}" ] && { [ ! -f "$WASM_DIR/gguf_squash_simd.wasm" ] || [ ! -f "$WASM_DIR/gguf_squash_base.wasm" ]; }; then
  log "building wasm in $WASM_DIR"
  emcmake cmake -S . -B "$WASM_DIR" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$WASM_DIR" -j"$JOBS" --target gguf_squash_simd gguf_squash_base
fi
export GGUF_SQUASH_WASM_DIR=$WASM_DIR

# --- machine facts ------------------------------------------------------------------------------
{
  echo "{"
  echo "  \"cpu\": \"$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//; s/"/\\"/g')\","
  echo "  \"cores\": $(nproc),"
  echo "  \"mem_gib\": $(awk '/MemTotal/ {printf "%.1f", $2/1048576}' /proc/meminfo),"
  echo "  \"flags_avx2\": $(grep -qw avx2 /proc/cpuinfo && echo true || echo false),"
  echo "  \"kernel\": \"$(uname -r)\","
  echo "  \"gxx\": \"$(g++ -dumpfullversion 2>/dev/null || echo ?)\","
  echo "  \"emcc\": \"emcc $(em++ --version 2>/dev/null | head -1 | grep -o '[0-9][0-9.]*[0-9]' | tail -1)\","
  echo "  \"node\": \"$(node --version)\","
  echo "  \"date\": \"$(date -u +%Y-%m-%dT%H:%MZ)\","
  echo "  \"load_start\": \"$(cut -d' ' -f1-3 /proc/loadavg)\","
  echo "  \"commit\": \"$(git rev-parse --short HEAD 2>/dev/null || echo ?)\","
  echo "  \"quick\": ${QUICK:+true}${QUICK:-false}"
  echo "}"
} > "$RES/machine.json"

# --- the model ----------------------------------------------------------------------------------
if [ -z "$TYPES_ONLY" ] && [ ! -f "$MODEL" ]; then
  log "generating $MODEL"
  mkdir -p "$(dirname "$MODEL")"
  "$NATIVE_DIR/make-bench-model" "$MODEL"
fi

if [ -z "$TYPES_ONLY" ]; then
# --- 1. native kernels, header, estimate ----------------------------------------------------------
types='Q4_0|Q4_1|Q5_0|Q8_0|Q4_K|Q5_K|Q6_K|IQ4_NL|IQ4_XS|Q1_0|Q2_0|TQ1_0|TQ2_0|IQ2_XXS|IQ2_XS|IQ2_S'
isas='scalar|sse4|avx2'
min_time=0.5
if [ -n "${QUICK:-}" ]; then types='Q4_0|Q8_0|Q4_K|Q6_K|IQ4_XS'; isas='scalar|avx2'; min_time=0.2; fi
log "native kernels (Google Benchmark)"
"$NATIVE_DIR/gguf_squash_bench" \
  --benchmark_filter="^((quantize|from_f16)/($types)/($isas)|model_rows/.*/(scalar|avx2)|model_rows_mt/.*|header/.*|estimate_table/.*)\$" \
  --benchmark_min_time=$min_time --benchmark_format=console \
  --benchmark_out="$RES/native_kernels.json" --benchmark_out_format=json >&2

# --- 2. wasm kernels, header, estimate ------------------------------------------------------------
if [ -z "${NO_WASM:-}" ]; then
  log "wasm kernels (node $(node --version))"
  wtypes=$(echo "$types" | tr '|' ',')
  node wasm/bench_kernels.mjs --types "$wtypes" --modes quantize,from_f16 \
    --min-time $min_time --reps 3 --json "$RES/wasm_kernels.json" \
    --header tests/fixtures/vocab/ggml-vocab-qwen2.gguf,tests/fixtures/vocab/ggml-vocab-gpt-2.gguf \
    --estimate tests/fixtures/models/llama-gqa.gguf,"$MODEL"
fi

# --- 3. whole-model runs --------------------------------------------------------------------------
# run NAME KERNELS THREADS TYPE ENGINE: quantizes the model, records /usr/bin/time -v and the
# output's sha256 in $RES/runs.jsonl.
: > "$RES/runs.jsonl"
run() {
  local name=$1 kernels=$2 threads=$3 type=$4 engine=$5
  local out=build/bench/out-$name.gguf tfile=$RES/time-$name.txt
  local -a cmd
  if [ "$engine" = native ]; then cmd=("$NATIVE_DIR/gguf-squash" quantize "$MODEL" "$out" "$type" "$threads")
  else cmd=(node wasm/cli.mjs quantize "$MODEL" "$out" "$type" "$threads"); fi
  log "whole model: $name (${cmd[*]})"
  local load; load=$(cut -d' ' -f1 /proc/loadavg)
  if [ "$engine" = native ]; then
    GGUF_SQUASH_KERNELS=$kernels /usr/bin/time -v -o "$tfile" "${cmd[@]}" >/dev/null 2>"$RES/stderr-$name.txt"
  else
    GGUF_SQUASH_WASM_VARIANT=$kernels /usr/bin/time -v -o "$tfile" "${cmd[@]}" >/dev/null 2>"$RES/stderr-$name.txt"
  fi
  local sha; sha=$(sha256sum "$out" | cut -d' ' -f1)
  local info=$RES/info-$type.json
  [ -f "$info" ] || "$NATIVE_DIR/gguf-squash" info --json "$out" > "$info"
  rm -f "$out"
  local wall user sys rss
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,a,":"); s=0; for(i=1;i<=n;i++) s=s*60+a[i]; print s}' "$tfile")
  user=$(awk -F': ' '/User time/ {print $2}' "$tfile")
  sys=$(awk -F': ' '/System time/ {print $2}' "$tfile")
  rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$tfile")
  printf '{"name":"%s","engine":"%s","kernels":"%s","threads":%s,"type":"%s","wall_s":%s,"user_s":%s,"sys_s":%s,"max_rss_kib":%s,"load":%s,"sha256":"%s","command":"%s"}\n' \
    "$name" "$engine" "$kernels" "$threads" "$type" "$wall" "$user" "$sys" "$rss" "$load" "$sha" \
    "$( [ "$engine" = native ] && echo "GGUF_SQUASH_KERNELS=$kernels " || echo "GGUF_SQUASH_WASM_VARIANT=$kernels ")${cmd[*]}" >> "$RES/runs.jsonl"
}

if [ -z "${NO_MODEL:-}" ]; then
  # Every run reads the model from the page cache: the first one would otherwise also time the
  # disk (15 s instead of 4.5 s for Q4_K_M on this machine).
  cat "$MODEL" > /dev/null
  for t in Q4_K_M Q6_K Q8_0 Q4_0 IQ4_XS; do run "native-avx2-$t-1t" avx2 1 "$t" native; done
  run native-avx2-Q4_K_M-2t avx2 2 Q4_K_M native
  # Thread scaling is a ratio of two wall times: two more runs of each side (the report takes
  # the median of three).
  for rep in 2 3; do
    run native-avx2-Q4_K_M-1t avx2 1 Q4_K_M native
    run native-avx2-Q4_K_M-2t avx2 2 Q4_K_M native
  done
  run native-scalar-Q4_K_M-1t scalar 1 Q4_K_M native
  run native-scalar-Q4_K_M-2t scalar 2 Q4_K_M native
  if [ -z "${QUICK:-}" ]; then
    for t in Q6_K Q8_0 Q4_0; do run "native-scalar-$t-1t" scalar 1 "$t" native; done
    # llama-quantize takes 109 s of CPU for this one; ours in scalar about the same.
    if [ -n "${FULL:-}" ]; then run native-scalar-IQ4_XS-1t scalar 1 IQ4_XS native; fi
  fi
  if [ -z "${NO_WASM:-}" ]; then
    run wasm-simd-Q4_K_M-1t simd 1 Q4_K_M wasm
    run wasm-simd-Q4_K_M-2t simd 2 Q4_K_M wasm
    for rep in 2 3; do
      run wasm-simd-Q4_K_M-1t simd 1 Q4_K_M wasm
      run wasm-simd-Q4_K_M-2t simd 2 Q4_K_M wasm
    done
    for t in Q4_0 Q8_0; do run "wasm-simd-$t-1t" simd 1 "$t" wasm; done
    if [ -z "${QUICK:-}" ]; then
      for t in Q6_K IQ4_XS; do run "wasm-simd-$t-1t" simd 1 "$t" wasm; done
    fi
  fi
fi

# --- 4. the browser -------------------------------------------------------------------------------
if [ -z "${NO_BROWSER:-}" ] && [ -z "${NO_WASM:-}" ] && [ -f tests/browser/perf_browser.mjs ]; then
  # The site, from the same wasm modules as the node runs (as scripts/build.sh web lays it out).
  site=build/bench/web
  rm -rf "$site" && mkdir -p "$site/wasm"
  cp -r web/. "$site/"
  cp wasm/*.mjs "$site/wasm/" && rm -f "$site/wasm/cli.mjs" "$site/wasm/bench_kernels.mjs"
  cp "$WASM_DIR"/gguf_squash_{simd,base}.{mjs,wasm} "$site/wasm/"
  log "browser (Chromium, worker pool 2)"
  GGUF_SQUASH_WEB_DIR=$site node tests/browser/perf_browser.mjs --model "$MODEL" --type Q4_K_M --workers 2 \
    --json "$RES/browser.json" >&2 || log "browser run failed (see above)"
fi

echo "{\"load_end\": \"$(cut -d' ' -f1-3 /proc/loadavg)\"}" > "$RES/machine_end.json"
node bench/report.mjs --results "$RES" --out docs/PERFORMANCE.md
fi  # TYPES_ONLY

# --- 5. every ftype against llama-quantize ----------------------------------------------------------
# The issue-17 table: one thread, whole process, CPU seconds (user + system, the smallest of REPS
# runs), on the issue's model (n_embd 2048, 2 layers, n_ff 5632, vocab 4096), with a synthetic
# imatrix where a type needs one and on the +imatrix rows; `cp` of the same file for the memory-bound
# types' target. Every run's output sha256 is recorded: all engines must agree.
TYPES_MODEL=${TYPES_MODEL:-build/bench/bench-model-2l-f16.gguf}
TYPES_IMATRIX=${TYPES_MODEL%-f16.gguf}.imatrix.dat
REPS=${REPS:-2}
all_types='Q1_0 Q2_0 Q4_0 Q4_1 MXFP4_MOE Q5_0 Q5_1 IQ2_XXS IQ2_XS IQ2_S IQ2_M IQ1_S IQ1_M TQ1_0 TQ2_0
Q2_K Q2_K_S IQ3_XXS IQ3_S IQ3_M IQ3_XS Q3_K_S Q3_K_M Q3_K_L IQ4_NL IQ4_XS Q4_K_S Q4_K_M Q5_K_S Q5_K_M
Q6_K Q8_0 F16 BF16 F32 COPY Q4_0+imatrix Q4_1+imatrix Q5_0+imatrix Q5_1+imatrix Q4_K_M+imatrix'
# llama-quantize refuses these without an importance matrix (tools/quantize/quantize.cpp).
# (IQ3_XXS, IQ3_XS: llama-quantize's per-tensor check refuses their token_embd.weight, which
# falls back to IQ3_S, without one.)
needs_imatrix=' IQ2_XXS IQ2_XS IQ2_S IQ2_M IQ1_S IQ1_M Q2_K_S IQ3_XXS IQ3_XS '
engines=${TYPES_ENGINES:-llama native wasm cp}
if [ -z "${LLAMA_QUANTIZE:-}" ]; then engines=${engines//llama/}; fi
if [ -n "${NO_WASM:-}" ]; then engines=${engines//wasm/}; fi
if [ -n "${LLAMA_QUANTIZE:-}" ] || [ -n "$TYPES_ONLY" ]; then
  if [ ! -f "$TYPES_MODEL" ]; then
    log "generating $TYPES_MODEL"
    "$NATIVE_DIR/make-bench-model" "$TYPES_MODEL" --layers 2
  fi
  if [ ! -f "$TYPES_IMATRIX" ]; then
    "$NATIVE_DIR/gguf-squash" info --json "$TYPES_MODEL" | node bench/make_bench_imatrix.mjs "$TYPES_IMATRIX"
  fi
  # llama-quantize's shared libraries sit beside it in a CMake build tree.
  if [ -n "${LLAMA_QUANTIZE:-}" ]; then
    lq_dir=$(dirname "$LLAMA_QUANTIZE")
    export LD_LIBRARY_PATH="$lq_dir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  fi
  cat "$TYPES_MODEL" > /dev/null
  for engine in $engines; do
    jsonl=$RES/types-$engine.jsonl
    [ -n "${TYPES_APPEND:-}" ] || : > "$jsonl"
    rows=${TYPES:-$all_types}
    if [ "$engine" = cp ]; then rows=copy; fi
    for row in $rows; do
      type=${row%+imatrix}
      imx=()
      if [ "$row" != "$type" ] || [[ "$needs_imatrix" == *" $type "* ]]; then imx=(--imatrix "$TYPES_IMATRIX"); fi
      out=build/bench/out-types-$engine.gguf
      for rep in $(seq "$REPS"); do
        case $engine in
          llama) cmd=("$LLAMA_QUANTIZE" "${imx[@]}" "$TYPES_MODEL" "$out" "$type" 1) ;;
          native) cmd=("$NATIVE_DIR/gguf-squash" quantize "${imx[@]}" "$TYPES_MODEL" "$out" "$type" 1) ;;
          wasm) cmd=(node wasm/cli.mjs quantize "${imx[@]}" "$TYPES_MODEL" "$out" "$type" 1) ;;
          cp) cmd=(cp "$TYPES_MODEL" "$out") ;;
        esac
        log "types: $engine $row rep $rep"
        tfile=$RES/time-types-$engine.txt  # per engine: columns may be measured concurrently
        load=$(cut -d' ' -f1 /proc/loadavg)
        if ! GGUF_SQUASH_WASM_VARIANT=simd /usr/bin/time -v -o "$tfile" "${cmd[@]}" >/dev/null 2>"$RES/stderr-types-$engine.txt"; then
          log "types: $engine $row failed: $(tail -1 "$RES/stderr-types-$engine.txt")"
          printf '{"row":"%s","engine":"%s","failed":true}\n' "$row" "$engine" >> "$jsonl"
          break
        fi
        sha=$(sha256sum "$out" | cut -d' ' -f1)
        rm -f "$out"
        wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,a,":"); s=0; for(i=1;i<=n;i++) s=s*60+a[i]; print s}' "$tfile")
        user=$(awk -F': ' '/User time/ {print $2}' "$tfile")
        sys=$(awk -F': ' '/System time/ {print $2}' "$tfile")
        rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$tfile")
        printf '{"row":"%s","type":"%s","imatrix":%s,"engine":"%s","rep":%s,"wall_s":%s,"user_s":%s,"sys_s":%s,"max_rss_kib":%s,"load":%s,"sha256":"%s","input_bytes":%s,"date":"%s"}\n' \
          "$row" "$type" "$([ ${#imx[@]} -gt 0 ] && echo true || echo false)" "$engine" "$rep" "$wall" "$user" "$sys" \
          "$rss" "$load" "$sha" "$(stat -c %s "$TYPES_MODEL")" "$(date -u +%H:%MZ)" >> "$jsonl"
      done
    done
  done
  node bench/types_report.mjs --results "$RES" --doc docs/PERFORMANCE.md --notes bench/types_notes.md
fi

if [ -z "$TYPES_ONLY" ] && [ -z "${NO_URL:-}" ]; then GGUF_SQUASH_WEB_DIR=${site:-build/web} scripts/bench_url.sh || log "URL benchmark failed (see above)"; fi
if [ -z "$TYPES_ONLY" ] && [ -z "${NO_QUALITY:-}" ]; then bench/quality_bench.sh || log "quality benchmark failed (see above)"; fi
