# Sourced by the scripts: environment for emscripten under Debian's packaging.
export NODE_PATH=/usr/share/nodejs${NODE_PATH:+:$NODE_PATH}
export EM_CACHE=${EM_CACHE:-$HOME/.cache/emscripten}
mkdir -p "$EM_CACHE"
JOBS=${JOBS:-$(nproc)}
