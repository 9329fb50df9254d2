#!/usr/bin/env bash
# Style checks: clang-format (the repo's .clang-format) over every C++ file in core/ wasm/
# tests/ bench/ tools/, and ESLint (eslint.config.mjs) over the JavaScript. Changes nothing;
# exits non-zero if either finds something.   Fix: clang-format -i FILE; npx eslint --fix FILE.
#   scripts/lint.sh            both checks
#   scripts/lint.sh cpp|js     one of them
set -uo pipefail
cd "$(dirname "$0")/.."
what=${1:-all}
status=0

if [ "$what" = all ] || [ "$what" = cpp ]; then
  mapfile -t cpp < <(git ls-files -- 'core/*' 'wasm/*' 'tests/*' 'bench/*' 'tools/*' |
                     grep -E '\.(cpp|cc|h|hpp)$')
  if [ ${#cpp[@]} -gt 0 ]; then
    echo "lint: clang-format over ${#cpp[@]} C++ files"
    clang-format --dry-run -Werror "${cpp[@]}" || status=1
  fi
fi

if [ "$what" = all ] || [ "$what" = js ]; then
  if [ ! -x node_modules/.bin/eslint ]; then
    echo "lint: node_modules/.bin/eslint missing (run scripts/setup.sh)" >&2
    exit 1
  fi
  echo "lint: eslint"
  node_modules/.bin/eslint --max-warnings=0 . || status=1
fi

[ "$status" -eq 0 ] && echo "lint: clean"
exit "$status"
