#!/usr/bin/env bash
# Records tests/fixtures/convert/reference.json: llama.cpp's own convert_hf_to_gguf.py (tree de3ff81,
# run through ../shared/convert_ref's transformers stand-in) on the checkpoints that
# tools/convert/make_checkpoint.mjs makes, for every --outtype, plus llama-quantize of the auto output.
# Outside the tests: it needs the converter environment (../shared/convert_ref/README.md).
#
#   CONVERT_ENV=... LLAMA_QUANTIZE=.../llama-quantize tools/convert/record_reference.sh WORK_DIR
#   ONLY="gemma3 gemma3-spm" ... : records those checkpoints only; their runs replace the ones of the
#   same checkpoint in reference.json, every other run is kept as it is.
#
# Each run keeps the exact commands (relative to WORK_DIR) beside its summary (tools/convert/gguf_summary.py).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
WORK="$(mkdir -p "$1" && cd "$1" && pwd)"
# ../shared beside the repository (or beside a worktree's parent folder)
CONVERT_REF="${CONVERT_REF:-$ROOT/../shared/convert_ref}"
[ -d "$CONVERT_REF" ] || CONVERT_REF="$ROOT/../../shared/convert_ref"
: "${CONVERT_ENV:?set CONVERT_ENV to the folder ../shared/convert_ref/setup_env.sh made}"
QUANTIZE="${LLAMA_QUANTIZE:-}"
OUT="$ROOT/tests/fixtures/convert/reference.json"
mkdir -p "$(dirname "$OUT")"
RUNS="$WORK/runs.jsonl"
: > "$RUNS"
cd "$WORK"

# name  make_checkpoint arguments
CHECKPOINTS=(
  "llama3|llama3"
  "llama31|llama31"
  "qwen3|qwen3"
  "llama3-shards|llama3 --shards 3"
  "qwen3-f16|qwen3 --dtype F16"
  "llama3-meta|llama3-meta"
  "qwen3-wide|qwen3 --hidden 256"
  # folder names for gguf-py's naming heuristics (general.* keys and the default file name)
  "Meta-Llama-3-8B-Instruct|qwen3"
  "Qwen2.5-0.5B-Instruct|qwen3"
  "Mistral-7B-v0.3|qwen3"
  "tinyllama-1.1b-chat-v1.0|qwen3"
  "SmolLM2-10M|qwen3"
  "gpt2-medium|qwen3"
  "Phi-3-mini-4k-instruct|qwen3"
  "bloom-7b1-BF16|qwen3"
  # model cards (README.md front matter: general.* keys, the name, the default file name)
  "qwen3-card|qwen3 --card qwen"
  "llama3-card|llama3 --card meta"
  "qwen3-nocard|qwen3 --card plain"
  # Gemma 3 (gemma3_text): tokenizer.json only (the BPE path), and with a tokenizer.model
  "gemma3|gemma3"
  "gemma3-spm|gemma3-spm"
  # F16 weights (the converter adds Gemma's norm + 1 in F16) and an embed_tokens with more rows
  # than the SentencePiece vocabulary (token_embd is cut to it)
  "gemma3-spm-f16-wide|gemma3-spm --dtype F16 --embed-rows 262400"
  # Llama 2 style with a SentencePiece-style BPE tokenizer.json (byte_fallback): LlamaHfVocab
  "llama2|llama2"
  # the same with a tokenizer.model made from it: the converter's _set_vocab_sentencepiece
  "llama2-spm|llama2-spm"
)
ONLY="${ONLY:-}"
OUTTYPES_FULL=(f32 f16 bf16 q8_0 auto)

record() {  # name make_args outtype convert_cmd gguf [quantize_cmd ftype]
  python3 - "$@" >> "$RUNS" <<'EOF'
import json, subprocess, sys, os
name, make_args, outtype, convert_cmd, gguf = sys.argv[1:6]
summary = json.loads(subprocess.check_output(["python3", os.environ["SUMMARY"], gguf]))
run = {"checkpoint": name, "make_checkpoint": "node tools/convert/make_checkpoint.mjs " + make_args + " " + name,
       "outtype": outtype, "convert": convert_cmd, "output_name": os.path.basename(gguf)}
if len(sys.argv) > 6:
    run["quantize"], run["ftype"] = sys.argv[6], sys.argv[7]
run.update(summary)
print(json.dumps(run, ensure_ascii=False))
EOF
}
export SUMMARY="$ROOT/tools/convert/gguf_summary.py"

for entry in "${CHECKPOINTS[@]}"; do
  name="${entry%%|*}"; make_args="${entry#*|}"
  if [ -n "$ONLY" ] && [[ " $ONLY " != *" $name "* ]]; then continue; fi
  # shellcheck disable=SC2086
  [ -d "$name" ] || nice -n 10 node "$ROOT/tools/convert/make_checkpoint.mjs" $make_args "$name"
  case "$name" in llama3|llama31|qwen3|gemma3|gemma3-spm|llama2|llama2-spm) outtypes=("${OUTTYPES_FULL[@]}") ;; *) outtypes=(auto) ;; esac
  for ot in "${outtypes[@]}"; do
    rm -f "$name"/*.gguf
    cmd="convert_hf_to_gguf.py $name --outtype $ot"
    if [ -f "$name.$ot.gguf" ] && [ -f "$name.$ot.name" ]; then   # kept from an earlier run
      gguf="$name/$(cat "$name.$ot.name")"; mv "$name.$ot.gguf" "$gguf"
    else
      CONVERT_ENV="$CONVERT_ENV" bash "$CONVERT_REF/convert_ref.sh" "$name" --outtype "$ot" > "$name.$ot.log" 2>&1
      gguf="$(ls "$name"/*.gguf)"; basename "$gguf" > "$name.$ot.name"
    fi
    record "$name" "$make_args" "$ot" "$cmd" "$gguf"
    if [ "$ot" = auto ] && [ -n "$QUANTIZE" ] && { [ "$name" = llama3 ] || [ "$name" = qwen3 ] || [ "$name" = qwen3-wide ] || [ "$name" = gemma3 ]; }; then
      for ft in Q4_K_M Q8_0; do
        q="$name-$ft.gguf"
        nice -n 10 "$QUANTIZE" "$gguf" "$q" "$ft" 1 > "$q.log" 2>&1
        record "$name" "$make_args" "$ot" "$cmd" "$q" "llama-quantize $(basename "$gguf") $q $ft 1" "$ft"
      done
    fi
    mv "$gguf" "$name.$ot.gguf"
  done
done

ONLY="$ONLY" python3 - "$RUNS" "$OUT" <<'EOF'
import json, os, sys
runs = [json.loads(l) for l in open(sys.argv[1])]
only = os.environ["ONLY"].split()
if only:  # keep the other checkpoints' recorded runs, in their order, then these
    kept = [r for r in json.load(open(sys.argv[2]))["runs"] if r["checkpoint"] not in only]
    runs = kept + runs
ref = {"reference": "convert_hf_to_gguf.py (llama.cpp tree de3ff81, ../shared/convert_ref transformers stand-in, "
                    "Debian numpy 1.24 / torch 1.13) and llama-quantize of the same tree",
       "runs": runs}
with open(sys.argv[2], "w") as f:
    json.dump(ref, f, ensure_ascii=False, indent=1)
    f.write("\n")
EOF
echo "wrote $OUT (${#CHECKPOINTS[@]} checkpoints)"
