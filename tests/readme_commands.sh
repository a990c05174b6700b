#!/usr/bin/env bash
# Every command line of the README's ```sh blocks, run as written from a scratch folder (build/bin/...
# points at this build, tests/data at the source tree), with a small budget appended where a line would
# train or measure for minutes (the curriculum curve: 20,000 steps). Lines that need what CI lacks (a GPU, the network, or that are CI itself)
# are listed and skipped. Usage: readme_commands.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
src=$(cd "$1" && pwd)
build=$(cd "$2" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/build"
ln -s "$build/bin" "$work/build/bin"
ln -s "$src/tests" "$work/tests"
ln -s "$src/configs" "$work/configs"
ln -s "$src/scripts" "$work/scripts"
cp "$src/configs/train_job.yaml" "$work/my_job.yaml"  # the README's "another job file"
cd "$work"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1  # mpirun lines, as root in CI
gpu=0
if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then gpu=1; fi
# the command lines: ```sh blocks, continuations joined, comments dropped
mapfile -t lines < <(python3 - "$src/README.md" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
for block in re.findall(r"^```sh\n(.*?)^```", text, flags=re.S | re.M):
    block = block.replace("\\\n", " ")
    for line in block.splitlines():
        line = re.sub(r"\s+#.*$", "", line).strip()
        if line:
            print(re.sub(r"\s+", " ", line))
PY
)
train_budget=(trainer.total_timesteps=2048 trainer.batch_size=1024 trainer.minibatch_size=512
              trainer.simulation.num_episodes=1)
ran=0
for line in "${lines[@]}"; do
  read -r -a cmd <<<"$line"
  case "$line" in
    scripts/main.sh*|scripts/test.sh*) echo "not run here (CI runs it, and the fresh-clone check): $line"; continue ;;
    scripts/peer*|scripts/gpu-deps.sh*|"pip install"*) echo "not run here (needs the network): $line"; continue ;;
    scripts/gpu-check.sh*) echo "not run here (needs a GPU machine): $line"; continue ;;
    scripts/bench-ab.sh*) echo "not run here (builds two commits, minutes each, from a git checkout): $line"; continue ;;
    scripts/bench-python.sh*) echo "not run here (minutes of timing, and the PyPI peer needs the network): $line"; continue ;;
    *" -H "*|srun*) echo "not run here (needs several machines or Slurm): $line"; continue ;;
  esac
  if [[ "$line" == mpirun* || "$line" == scripts/distributed-bench.sh* ]] && ! command -v mpirun >/dev/null; then
    echo "not run here (no mpirun): $line"; continue
  fi
  if [[ "$line" == *cuda* && $gpu -eq 0 ]]; then echo "not run here (no GPU): $line"; continue; fi
  case "$line" in
    "build/bin/metta train"*) cmd+=("${train_budget[@]}") ;;
    "build/bin/metta bench"*) cmd+=(--seconds 0.2 --no-cuda) ;;
    build/bin/bench_*) cmd+=(--benchmark_min_time=0.01 --benchmark_filter=/64/) ;;
    "mpirun -np 2 build/bin/metta train"*) cmd+=("${train_budget[@]}") ;;
    scripts/distributed-bench.sh*) cmd=(env ENVS=4 "${cmd[0]}" build 16384) ;;  # a short job
    scripts/curriculum-curve.sh*) cmd=("${cmd[0]}" "${cmd[1]}" 20000 agent=small num_envs=2) ;;  # the curve's first points
  esac
  echo "== ${cmd[*]}"
  start=$SECONDS
  if ! "${cmd[@]}" >"$work/out.log" 2>&1; then
    tail -20 "$work/out.log"
    echo "FAILED: $line" >&2
    exit 1
  fi
  echo "   ok in $((SECONDS - start)) s"
  ran=$((ran + 1))
done
[ "$ran" -ge 12 ] || { echo "only $ran README lines ran: did the README's blocks move?" >&2; exit 1; }
echo "README: $ran command lines ran as written"
