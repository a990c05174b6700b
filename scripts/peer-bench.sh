#!/usr/bin/env bash
# Peer harness: the PyPI `mettagrid` package and our engine, same machine, same run, one core each.
#
# Usage: scripts/peer-bench.sh [BUILD_DIR] [SECONDS]     (defaults: build, 10)
#
# The peer runs its own default arena (make_arena(num_agents=24)) with random actions; ours runs
# `metta sim` on the embedded default env. Both are pinned to one CPU core so the ratio is per core.
# The venv lives in $BUILD_DIR/peer-venv and is reused on later runs.
set -euo pipefail

BUILD_DIR=${1:-build}
SECONDS_ARG=${2:-10}
# The exact release this harness was checked against; bump deliberately, its API moves.
METTAGRID_PIN=${METTAGRID_PIN:-mettagrid==0.26.22}

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
METTA="$BUILD_DIR/bin/metta"
VENV="$BUILD_DIR/peer-venv"
PY="$VENV/bin/python"

die() { echo "peer-bench: $*" >&2; exit 1; }

[[ -x "$METTA" ]] || die "build first: $METTA not found (e.g. cmake -S . -B $BUILD_DIR && cmake --build $BUILD_DIR)"
[[ "$SECONDS_ARG" =~ ^[0-9]+([.][0-9]+)?$ ]] || die "SECONDS must be a number, got '$SECONDS_ARG'"

# Read before OMP_NUM_THREADS is set: GNU nproc honours that variable.
NPROC=$(nproc)
# One core, no helper threads: the figure should be what a single core does.
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 NUMEXPR_NUM_THREADS=1
PIN=()
if command -v taskset >/dev/null 2>&1; then
  PIN=(taskset -c 0)
else
  echo "peer-bench: taskset not found; running unpinned (figures may use more than one core)" >&2
fi

# --- venv with the peer package (idempotent: reinstall only when the pin is not what is installed)
want_version=${METTAGRID_PIN#mettagrid==}
have_version=""
if [[ -x "$PY" ]]; then
  have_version=$("$PY" -c 'from importlib.metadata import version; print(version("mettagrid"))' 2>/dev/null || true)
fi
if [[ "$have_version" != "$want_version" ]]; then
  echo "peer-bench: setting up $VENV with $METTAGRID_PIN ..." >&2
  if [[ ! -x "$PY" ]]; then
    python3 -m venv "$VENV" || die "could not create a venv at $VENV with 'python3 -m venv' (is python3-venv installed?)"
  fi
  if ! "$PY" -m pip install --quiet --disable-pip-version-check "$METTAGRID_PIN" numpy >&2; then
    die "pip install of $METTAGRID_PIN into $VENV failed (it needs Python 3.11 or 3.12 and network access to PyPI)"
  fi
fi
"$PY" -c 'import mettagrid.builder.envs, mettagrid.simulator' 2>/dev/null \
  || die "mettagrid is installed in $VENV but does not import; remove $VENV and retry"
MG_VERSION=$("$PY" -c 'from importlib.metadata import version; print(version("mettagrid"))')

# --- peer
echo "== peer: mettagrid $MG_VERSION (${SECONDS_ARG}s per path) =="
peer_out=$("${PIN[@]}" "$PY" "$ROOT/scripts/peer/mettagrid_bench.py" --seconds "$SECONDS_ARG") \
  || die "peer benchmark failed"
echo "$peer_out"
peer_sps=$(sed -n 's/^peer_agent_steps_per_s=//p' <<<"$peer_out")
peer_core_sps=$(sed -n 's/^peer_core_agent_steps_per_s=//p' <<<"$peer_out")
[[ -n "$peer_sps" ]] || die "peer benchmark printed no peer_agent_steps_per_s line"

# --- ours
echo "== ours: $METTA sim --threads 1 --envs 64 --seconds $SECONDS_ARG --seed 1 =="
ours_out=$("${PIN[@]}" "$METTA" sim --threads 1 --envs 64 --seconds "$SECONDS_ARG" --seed 1) \
  || die "metta sim failed"
echo "$ours_out"
ours_sps=$(sed -n 's/^agent_steps_per_s=//p' <<<"$ours_out")
[[ -n "$ours_sps" ]] || die "metta sim printed no agent_steps_per_s line"

# --- summary
cpu_model=$(sed -n 's/^model name[[:space:]]*:[[:space:]]*//p' /proc/cpuinfo 2>/dev/null | head -n1)
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
fmt() { awk -v x="$1" 'BEGIN { printf "%.0f", x }'; }

echo
echo "== summary =="
echo "machine:   nproc=$NPROC, cpu=${cpu_model:-unknown}, pinned=${PIN[*]:-no}"
echo "peer:      mettagrid $MG_VERSION, make_arena(num_agents=24), 1 env, Simulation.step()"
echo "peer agent-steps/s (per core)        = $(fmt "$peer_sps")"
if [[ -n "$peer_core_sps" ]]; then
  echo "peer agent-steps/s, C++ core only    = $(fmt "$peer_core_sps")"
fi
echo "ours agent-steps/s (per core)        = $(fmt "$ours_sps")   (metta sim, 64 envs x 24 agents, 1 thread)"
echo "ratio (ours / peer, per core) = $(ratio "$ours_sps" "$peer_sps")x"
if [[ -n "$peer_core_sps" ]]; then
  echo "ratio (ours / peer C++ core only, per core) = $(ratio "$ours_sps" "$peer_core_sps")x"
fi
