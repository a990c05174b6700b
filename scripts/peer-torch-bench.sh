#!/usr/bin/env bash
# Peer harness: PyTorch on the CPU and our policy network, training forward + backward of the `fast`
# agent on one minibatch (256 segments x 16 steps = 4,096 rows), same machine, same run, all cores.
#
# Usage: scripts/peer-torch-bench.sh [BUILD_DIR] [SECONDS]     (defaults: build, 10)
#
# Torch runs scripts/peer/torch_policy_bench.py; ours runs bench_train's BM_PolicyTrainStepCpu/fast.
# Both report trained agent-steps (rows) per second. The venv lives in $BUILD_DIR/torch-venv and is
# reused on later runs.
#
# Installing torch: only PyPI is reachable, and PyPI's Linux x86_64 torch is the CUDA build, whose full
# install (`pip install torch`) pulls ~3 GiB of nvidia-* wheels plus triton: a 5.3 GiB venv (torch
# 2.15.0, measured). `pip install --no-deps torch` plus its pure-python deps alone does NOT import:
# libtorch_cuda.so is linked against cudart, cuBLAS, cuDNN, NCCL, ... and must load even on the CPU.
# The cpp-kernels machines carry a CUDA 13.0 toolkit in ld.so.conf (/usr/local/cuda-13.0/lib) that
# satisfies most of those; what it lacks or has too old (cuFile, cuSPARSELt, NVSHMEM, NCCL) comes from
# the four wheels torch pins, without their deps: a 2.1 GiB venv (0.6 GiB of it those wheels), no
# triton. Where that still does not import (no system toolkit, or another CUDA major), we fall back to
# the full install.
set -euo pipefail

BUILD_DIR=${1:-build}
SECONDS_ARG=${2:-10}
# The release this harness was checked against; bump deliberately.
TORCH_VERSION=${TORCH_VERSION:-2.15.0}

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH="$BUILD_DIR/bin/bench_train"
FILTER='BM_PolicyTrainStepCpu/fast'
VENV="$BUILD_DIR/torch-venv"
PY="$VENV/bin/python"
LOG="$VENV/install.log"

die() { echo "peer-torch-bench: $*" >&2; exit 1; }

[[ -x "$BENCH" ]] || die "build first: $BENCH not found (e.g. cmake -S . -B $BUILD_DIR && cmake --build $BUILD_DIR --target bench_train)"
[[ "$SECONDS_ARG" =~ ^[0-9]+([.][0-9]+)?$ ]] || die "SECONDS must be a number, got '$SECONDS_ARG'"

# GNU nproc honours OMP_NUM_THREADS / OMP_THREAD_LIMIT; read the real count without them.
NPROC=$(env -u OMP_NUM_THREADS -u OMP_THREAD_LIMIT nproc)
# All cores for both: ours runs its OpenMP loops on them, torch its intra-op pool.
export OMP_NUM_THREADS=$NPROC

# True when the venv's torch is the wanted release and a tiny backward runs on the CPU.
torch_ok() {
  [[ -x "$PY" ]] || return 1
  "$PY" - "$TORCH_VERSION" >/dev/null 2>&1 <<'EOF'
import sys
import torch
assert torch.__version__.split("+")[0] == sys.argv[1], torch.__version__
x = torch.randn(4, 4, requires_grad=True)
(x @ x).sum().backward()
assert x.grad is not None
EOF
}

pip_install() { "$PY" -m pip install --disable-pip-version-check --no-input "$@" >>"$LOG" 2>&1; }

# --- venv with torch (idempotent: nothing is installed when the wanted torch already works)
if ! torch_ok; then
  echo "peer-torch-bench: setting up $VENV with torch==$TORCH_VERSION (log: $LOG) ..." >&2
  if [[ ! -x "$PY" ]]; then
    python3 -m venv "$VENV" || die "could not create a venv at $VENV with 'python3 -m venv' (is python3-venv installed?)"
  fi
  : >"$LOG"
  # Slim first: torch without its CUDA wheels, its pure-python deps (and numpy, which torch warns without).
  pip_install --no-deps "torch==$TORCH_VERSION" \
    || die "pip install torch==$TORCH_VERSION failed (it needs PyPI; see $LOG)"
  pip_install filelock typing-extensions sympy networkx jinja2 fsspec numpy \
    || die "pip install of torch's pure-python deps failed (see $LOG)"
  # The CUDA wheels a system CUDA 13.0 toolkit does not cover, at the versions this torch pins.
  mapfile -t cuda_wheels < <("$PY" - <<'EOF'
import re
from importlib.metadata import requires
for req in requires("torch") or []:
    spec = req.split(";")[0].strip()
    name = re.match(r"[A-Za-z0-9._-]+", spec).group(0)
    version = spec[len(name):]
    version = version[version.index("]") + 1:] if version.startswith("[") else version
    if name == "cuda-toolkit":
        print(f"cuda-toolkit[cufile]{version}")  # a metapackage: this extra brings only nvidia-cufile
    elif re.match(r"nvidia-(nccl|cusparselt|nvshmem)", name):
        print(f"{name}{version}")
EOF
  )
  if ((${#cuda_wheels[@]})); then
    # cuda-toolkit[cufile] needs its deps (that is the cufile wheel); the others need none for loading.
    for w in "${cuda_wheels[@]}"; do
      if [[ "$w" == cuda-toolkit* ]]; then pip_install "$w"; else pip_install --no-deps "$w"; fi \
        || die "pip install $w failed (see $LOG)"
    done
  fi
  if ! torch_ok; then
    echo "peer-torch-bench: slim torch does not import here; installing torch==$TORCH_VERSION with all its CUDA deps (~5 GiB) ..." >&2
    pip_install "torch==$TORCH_VERSION" || die "pip install torch==$TORCH_VERSION failed (see $LOG)"
    torch_ok || die "torch==$TORCH_VERSION is installed in $VENV but does not run; remove $VENV and retry (see $LOG)"
  fi
fi
TORCH_FULL_VERSION=$("$PY" -c 'import torch; print(torch.__version__)' 2>/dev/null)

# --- torch
echo "== torch: $TORCH_FULL_VERSION, ${SECONDS_ARG}s =="
torch_out=$("$PY" "$ROOT/scripts/peer/torch_policy_bench.py" --seconds "$SECONDS_ARG" --threads "$NPROC") \
  || die "torch benchmark failed"
echo "$torch_out"
torch_rps=$(sed -n 's/^torch_rows_per_s=//p' <<<"$torch_out")
[[ -n "$torch_rps" ]] || die "torch benchmark printed no torch_rows_per_s line"

# --- ours
echo "== ours: $BENCH --benchmark_filter='$FILTER' --benchmark_min_time=$SECONDS_ARG =="
ours_out=$("$BENCH" --benchmark_filter="$FILTER" --benchmark_min_time="$SECONDS_ARG" 2>&1) \
  || { echo "$ours_out" >&2; die "bench_train failed"; }
echo "$ours_out" | grep -E '^(Benchmark|BM_|\*\*\*WARNING)' || true
ours_line=$(grep -E "^BM_PolicyTrainStepCpu/fast" <<<"$ours_out" | head -n1)
grep -q 'ERROR OCCURRED' <<<"$ours_line" && die "bench_train reported an error: $ours_line"
# items_per_second=10.5149k/s -> 10514.9 (Google Benchmark scales by k, M, G).
ours_rps=$(sed -n 's/.*items_per_second=\([0-9.eE+-]*\)\([kMG]\{0,1\}\)\/s.*/\1 \2/p' <<<"$ours_line" \
  | awk '{ m = ($2 == "k") ? 1e3 : ($2 == "M") ? 1e6 : ($2 == "G") ? 1e9 : 1; printf "%.1f", $1 * m }')
[[ -n "$ours_rps" ]] || die "bench_train printed no items_per_second for $FILTER (did the filter match?)"

# --- summary
cpu_model=$(sed -n 's/^model name[[:space:]]*:[[:space:]]*//p' /proc/cpuinfo 2>/dev/null | head -n1)
loadavg=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown)
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
fmt() { awk -v x="$1" 'BEGIN { printf "%.0f", x }'; }

echo
echo "== summary: training forward + backward, fast agent, 4,096 rows per step =="
echo "machine:   nproc=$NPROC, cpu=${cpu_model:-unknown}, load average after=$loadavg"
echo "torch:     $TORCH_FULL_VERSION (CPU, $NPROC threads)"
echo "torch rows/s: $(fmt "$torch_rps")"
echo "ours  rows/s: $(fmt "$ours_rps")"
echo "ratio (ours / torch) = $(ratio "$ours_rps" "$torch_rps")x"
