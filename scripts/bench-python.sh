#!/usr/bin/env bash
# What stepping metta-cpp from Python costs (bench/python_bench.py): VecEnv.step vs the C++ bench_env at the
# same sizes and threads, MettaGridPufferEnv vs VecEnv, and PyPI mettagrid's MettaGridPufferEnv at the same
# size, in interleaved rounds of one run, with torch imported. Prints figures; asserts nothing.
#
# Usage: scripts/bench-python.sh [BUILD_DIR] [SECONDS] [ROUNDS]   (defaults: build-cpu-only, 3, 3)
# The build folder must hold bin/bench_env and the module (python/metta_cpp); scripts/test.sh builds both.
# The peer lives in its own venv (~/.cache/metta-cpp/mettagrid-venv, made once: mettagrid 0.26.22 and its
# numpy); its torch and pufferlib come from the project's venv (scripts/python-venv.sh) through PYTHONPATH,
# so the several GB of torch are not installed twice. METTAGRID_PEER=0 skips the peer.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR=$(cd "${1:-$ROOT/build-cpu-only}" && pwd)
SECONDS_ARG=${2:-3}
ROUNDS=${3:-3}
die() { echo "bench-python: $*" >&2; exit 1; }
[[ -x "$BUILD_DIR/bin/bench_env" ]] || die "no $BUILD_DIR/bin/bench_env: build first (scripts/test.sh)"
ls "$BUILD_DIR"/python/metta_cpp/_core*.so >/dev/null 2>&1 || die "no module in $BUILD_DIR/python/metta_cpp: build first"
VENV=$("$ROOT/scripts/python-venv.sh" | tail -n1)
PY="$VENV/bin/python"
"$PY" -c "import torch" 2>/dev/null || die "torch is missing from $VENV (scripts/python-venv.sh installs it)"
SITE=$("$PY" -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")

peer=()
if [[ "${METTAGRID_PEER:-1}" != 0 ]]; then
  PEER_VENV=$HOME/.cache/metta-cpp/mettagrid-venv
  PEER_PIN=mettagrid==0.26.22
  if ! "$PEER_VENV/bin/python" -c "import mettagrid" 2>/dev/null; then
    echo "bench-python: installing $PEER_PIN into $PEER_VENV (once)" >&2
    python3 -m venv "$PEER_VENV" && "$PEER_VENV/bin/pip" install -q --disable-pip-version-check "$PEER_PIN" numpy >&2 ||
      die "could not install $PEER_PIN (it needs Python 3.11 or 3.12 and PyPI); METTAGRID_PEER=0 runs without it"
  fi
  peer=(--peer-python "$PEER_VENV/bin/python" --peer-pythonpath "$SITE")
fi

echo "machine: $(nproc) cores, $(sed -n 's/^model name[[:space:]]*:[[:space:]]*//p' /proc/cpuinfo | head -n1)"
echo "build:   $BUILD_DIR ($(git -C "$ROOT" rev-parse --short HEAD))"
PYTHONPATH="$BUILD_DIR/python" "$PY" "$ROOT/bench/python_bench.py" --bench-env "$BUILD_DIR/bin/bench_env" \
  --seconds "$SECONDS_ARG" --rounds "$ROUNDS" "${peer[@]}"
