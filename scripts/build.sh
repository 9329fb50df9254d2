#!/usr/bin/env bash
# Builds the native CLI and tests (build/native), both wasm modules and the wasm tests
# (build/wasm), and the static site (build/web).
#   scripts/build.sh [native|wasm|web]...   (default: all three)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
targets=("$@"); [ ${#targets[@]} -eq 0 ] && targets=(native wasm web)

for t in "${targets[@]}"; do
  case "$t" in
    native)
      cmake -S . -B build/native -DCMAKE_BUILD_TYPE=Release -DGGUF_SQUASH_WERROR=ON >/dev/null
      cmake --build build/native -j"$JOBS"
      ;;
    asan)
      # Line tables only (-g1): sanitizer reports keep file:line, and the build is much quicker
      # than with full debug info (this build is the longest stage of scripts/test.sh).
      cmake -S . -B build/asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DGGUF_SQUASH_SANITIZE=ON \
        -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -g1 -DNDEBUG" -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O2 -g1 -DNDEBUG" >/dev/null
      cmake --build build/asan -j"$JOBS" --target gguf_squash_tests gguf-squash
      ;;
    wasm)
      emcmake cmake -S . -B build/wasm -DCMAKE_BUILD_TYPE=Release -DGGUF_SQUASH_WERROR=ON >/dev/null
      cmake --build build/wasm -j"$JOBS"
      ;;
    web)
      rm -rf build/web && mkdir -p build/web/widget build/web/wasm
      cp -r web/. build/web/
      cp wasm/*.mjs build/web/wasm/ 2>/dev/null || true
      rm -f build/web/wasm/cli.mjs build/web/wasm/row_pool_node.mjs build/web/wasm/url_fetch_node.mjs build/web/wasm/bench_kernels.mjs
      # The <gguf-estimator> widget: one module with the parameter-count model inlined.
      { sed 's/^export //' wasm/estimate_params.mjs; sed 's/^export //' wasm/gpu_formats.mjs
        sed '/^import .*\(estimate_params\|gpu_formats\)/d' web/widget/gguf_estimator_element.mjs; } > build/web/widget/gguf-estimator.js
      rm -f build/web/widget/gguf_estimator_element.mjs
      for v in simd base; do
        for ext in mjs wasm; do
          [ -f build/wasm/gguf_squash_$v.$ext ] && cp build/wasm/gguf_squash_$v.$ext build/web/wasm/
        done
      done
      ;;
    *) echo "build.sh: unknown target $t" >&2; exit 2 ;;
  esac
done
