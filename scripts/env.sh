# Sourced by the scripts: environment for emscripten under Debian's packaging (its prebuilt,
# frozen cache must stay the default one, so EM_CACHE is left alone).
export NODE_PATH=/usr/share/nodejs${NODE_PATH:+:$NODE_PATH}
JOBS=${JOBS:-$(nproc)}
