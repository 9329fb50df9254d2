#!/usr/bin/env bash
# URL input against a local file (issue 12): Q4_K_M of the benchmark model read from the Hub
# emulator (tests/support/hub_emulator.mjs) on loopback against the same file from disk, for each
# face: native (gguf-squash quantize, 2 threads), node (wasm/cli.mjs quantize, 2 threads) and the
# page (tests/browser/perf_browser.mjs: ?model=URL against a picked File, 2 workers). Each case
# runs REPS times (default 2) and the best wall time counts: the machine is shared and noisy.
# Prints a table with the URL/disk ratio per face, writes build/bench/results/url.md and replaces
# (or appends) the section "URL input vs local file (issue 12)" at the end of docs/PERFORMANCE.md.
# A benchmark: nothing here fails on a slow figure (it fails if URL and disk outputs differ).
#
#   scripts/bench_url.sh             (scripts/bench.sh runs it last)
#   FACES="native node page" (the default) or any of them; REPS=3 NO_BROWSER=1 NO_WASM=1 NATIVE_DIR=... WASM_DIR=... scripts/bench_url.sh
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

NATIVE_DIR=${NATIVE_DIR:-build/native}
WASM_DIR=${WASM_DIR:-build/wasm}
MODEL=${GGUF_SQUASH_BENCH_MODEL:-build/bench/bench-model-f16.gguf}
REPS=${REPS:-2}
TYPE=Q4_K_M
RES=build/bench/results
DOC=docs/PERFORMANCE.md
HEADING='## URL input vs local file (issue 12)'
mkdir -p "$RES"
log() { echo "bench_url: $*" >&2; }

# --- builds and the model (as scripts/bench.sh) ---------------------------------------------------
# The native CLI only for the native face; make-bench-model only to generate the model.
read -r -a wanted <<< "${FACES:-native node page}"
want() { [[ " ${wanted[*]} " == *" $1 "* ]]; }
native_targets=()
want native && [ ! -x "$NATIVE_DIR/gguf-squash" ] && native_targets+=(gguf-squash)
[ ! -f "$MODEL" ] && [ ! -x "$NATIVE_DIR/make-bench-model" ] && native_targets+=(make-bench-model)
if [ ${#native_targets[@]} -gt 0 ]; then
  log "building ${native_targets[*]} in $NATIVE_DIR"
  cmake -S . -B "$NATIVE_DIR" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$NATIVE_DIR" -j"$JOBS" --target "${native_targets[@]}"
fi
if [ -z "${NO_WASM:-}" ] && { [ ! -f "$WASM_DIR/gguf_squash_simd.wasm" ] || [ ! -f "$WASM_DIR/gguf_squash_base.wasm" ]; }; then
  log "building wasm in $WASM_DIR"
  emcmake cmake -S . -B "$WASM_DIR" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$WASM_DIR" -j"$JOBS" --target gguf_squash_simd gguf_squash_base
fi
export GGUF_SQUASH_WASM_DIR=$WASM_DIR
if [ ! -f "$MODEL" ]; then
  log "generating $MODEL"
  mkdir -p "$(dirname "$MODEL")"
  "$NATIVE_DIR/make-bench-model" "$MODEL"
fi
model_bytes=$(stat -c %s "$MODEL")
load_start=$(cut -d' ' -f1-3 /proc/loadavg)

# --- the emulator, serving the model as bench/model ------------------------------------------------
tmp=$(mktemp -d)
emu_pid=
cleanup() { [ -n "$emu_pid" ] && kill "$emu_pid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
mkdir -p "$tmp/hub/bench/model"
ln -s "$(realpath "$MODEL")" "$tmp/hub/bench/model/$(basename "$MODEL")"
node tests/support/hub_emulator.mjs --root "$tmp/hub" > "$tmp/emu.json" &
emu_pid=$!
for _ in $(seq 100); do [ -s "$tmp/emu.json" ] && break; sleep 0.1; done
hub=$(node -e 'process.stdout.write(JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).hub)' "$tmp/emu.json")
URL="$hub/bench/model/resolve/main/$(basename "$MODEL")"
log "serving $MODEL as $URL"

# Both sides read the model from the page cache (the emulator reads the same file).
cat "$MODEL" > /dev/null

# best FACE SOURCE: the best wall seconds of REPS runs (stdout); each run's figure goes to
# $RES/url_runs.jsonl, each output's sha256 to $tmp/sha-FACE-SOURCE.
: > "$RES/url_runs.jsonl"
best() {
  local face=$1 source=$2 input best_s='' s
  input=$([ "$source" = url ] && echo "$URL" || echo "$MODEL")
  for rep in $(seq "$REPS"); do
    local out=$tmp/out.gguf load; load=$(cut -d' ' -f1 /proc/loadavg)
    case "$face" in
      native|node)
        local -a cmd
        if [ "$face" = native ]; then cmd=("$NATIVE_DIR/gguf-squash" quantize "$input" "$out" "$TYPE" 2)
        else cmd=(node wasm/cli.mjs quantize "$input" "$out" "$TYPE" 2); fi
        log "$face $source run $rep: ${cmd[*]}"
        local t0 t1; t0=$(date +%s.%N)
        "${cmd[@]}" >/dev/null 2>"$RES/url-stderr-$face-$source.txt" ||
          { cat "$RES/url-stderr-$face-$source.txt" >&2; return 1; }
        t1=$(date +%s.%N)
        s=$(echo "$t1 - $t0" | bc -l)
        sha256sum "$out" | cut -d' ' -f1 > "$tmp/sha-$face-$source" || return 1
        rm -f "$out"
        ;;
      page)
        local -a extra=(); [ "$source" = url ] && extra=(--url "$URL")
        log "page $source run $rep"
        node tests/browser/perf_browser.mjs --model "$MODEL" --type "$TYPE" --workers 2 "${extra[@]}" \
          --json "$tmp/page.json" >&2 || return 1
        s=$(node -e 'process.stdout.write(String(JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).seconds))' "$tmp/page.json") ||
          return 1
        ;;
    esac
    printf '{"face":"%s","source":"%s","rep":%s,"wall_s":%s,"load":%s}\n' "$face" "$source" "$rep" "$s" "$load" >> "$RES/url_runs.jsonl"
    if [ -z "$best_s" ] || [ "$(echo "$s < $best_s" | bc -l)" = 1 ]; then best_s=$s; fi
  done
  echo "$best_s"
}

faces=()
want native && faces+=(native)
[ -z "${NO_WASM:-}" ] && want node && faces+=(node)
if [ -z "${NO_BROWSER:-}" ] && [ -z "${NO_WASM:-}" ] && want page; then
  site=${GGUF_SQUASH_WEB_DIR:-build/web}
  if [ ! -f "$site/index.html" ] || [ ! -f "$site/wasm/gguf_squash_simd.wasm" ]; then
    log "assembling build/web"; scripts/build.sh web; site=build/web
  fi
  export GGUF_SQUASH_WEB_DIR=$site
  faces+=(page)
fi

rows=()
for face in "${faces[@]}"; do
  disk=$(best "$face" disk)
  url=$(best "$face" url)
  if [ -f "$tmp/sha-$face-disk" ] && ! cmp -s "$tmp/sha-$face-disk" "$tmp/sha-$face-url"; then
    log "$face: the URL run wrote other bytes than the disk run"; exit 1
  fi
  rows+=("$(awk -v f="$face" -v d="$disk" -v u="$url" -v b="$model_bytes" 'BEGIN {
    printf "| %s | %.1f | %.1f | %.1f | %.1f | %.0f%% |", f, d, b/1e6/d, u, b/1e6/u, 100*d/u }')")
done
load_end=$(cut -d' ' -f1-3 /proc/loadavg)

{
  echo "$HEADING"
  echo
  echo "$TYPE of the benchmark model ($(basename "$MODEL"), $model_bytes bytes) read from the Hub"
  echo "emulator on loopback (\`tests/support/hub_emulator.mjs\`: a 302 from the Hub to the CDN, then"
  echo "Range reads) against the same file from disk (page cache warm for both). Native and node:"
  echo "\`quantize INPUT OUT $TYPE 2\`, wall time of the whole command; page: Chromium with 2 workers,"
  echo "from the click on Quantize until the result is ready to save, \`?model=URL\` against a picked"
  echo "File. Best of $REPS runs each; MB/s of F16 input. Generated by \`scripts/bench_url.sh\` on"
  echo "$(date -u +%Y-%m-%dT%H:%MZ), commit $(git rev-parse --short HEAD 2>/dev/null || echo ?);"
  echo "load average $load_start at the start, $load_end at the end (2 cores, shared)."
  echo
  echo "| face | disk s | disk MB/s | URL s | URL MB/s | URL/disk |"
  echo "|---|---|---|---|---|---|"
  printf '%s\n' "${rows[@]}"
  echo
  echo "Target: URL at least 90% of disk (URL/disk = disk wall / URL wall)."
  [ -f bench/url_notes.md ] && { echo; cat bench/url_notes.md; }
} > "$RES/url.md"
cat "$RES/url.md"

# Replace this script's section (up to the next "## " heading) and put it at the end of the doc:
# scripts/bench.sh rewrites what comes before it.
[ -f "$DOC" ] || : > "$DOC"
awk -v h="$HEADING" '$0 == h { skip = 1; next } skip && /^## / { skip = 0 } !skip { print }' "$DOC" > "$tmp/doc.md"
{ printf '%s\n\n' "$(cat "$tmp/doc.md")"; cat "$RES/url.md"; } > "$DOC"
log "wrote $DOC"
