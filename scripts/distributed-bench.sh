#!/usr/bin/env bash
# Whole-run throughput of data-parallel training on the CPU backend (issue 15's benchmark, not a test):
# the same job (global batch, envs in all, agent-steps) as one process with T threads, and as
# `mpirun -np R` with T/R threads each. Prints agent-steps/s of each, side by side: wall time of the
# whole run (start-up included) and the mean of the per-epoch rates after the first epoch.
# Usage: scripts/distributed-bench.sh [BUILD_DIR] [STEPS] [key=value ...]
#   defaults: build-cpu-only, 262144 agent-steps, agent=fast env=hearts_room, 16 envs, 2 threads, 2 ranks
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
build=${1:-build-cpu-only}
steps=${2:-262144}
shift $(($# < 2 ? $# : 2))
metta=$build/bin/metta
[ -x "$metta" ] || { echo "distributed-bench: no $metta (build first)"; exit 1; }
command -v mpirun >/dev/null || { echo "distributed-bench: no mpirun (scripts/install-deps.sh installs OpenMPI)"; exit 1; }
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_btl_vader_single_copy_mechanism=none
threads=${THREADS:-2}
ranks=${RANKS:-2}
envs=${ENVS:-16}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
job=(agent=fast env=hearts_room seed=1 trainer.total_timesteps="$steps" trainer.batch_size=32768
     trainer.minibatch_size=8192 trainer.bptt_horizon=32 trainer.checkpoint_interval=50 trainer.evaluate_interval=1000
     data_dir="$tmp" "$@")

rate() {  # mean overview/sps of the epochs after the first
  python3 -c 'import json, sys
r = [json.loads(l)["overview/sps"] for l in open(sys.argv[1])][1:]
print("%.0f" % (sum(r) / len(r)) if r else "n/a")' "$1"
}
run() {  # name, then the command; sets secs (wall seconds of the whole run)
  local t0 t1
  t0=$(date +%s.%N)
  "${@:2}" >"$tmp/$1.log" 2>&1 || { cat "$tmp/$1.log"; echo "distributed-bench: $1 failed"; exit 1; }
  t1=$(date +%s.%N)
  secs=$(python3 -c "print('%.2f' % ($t1 - $t0))")
}
echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores"
echo "job: ${job[*]/data_dir=*/} num_envs=$envs in all"
run one "$metta" train "${job[@]}" num_envs="$envs" threads="$threads" run=one
s1=$secs
run ranks mpirun -np "$ranks" --oversubscribe --bind-to none "$metta" train "${job[@]}" \
  num_envs=$((envs / ranks)) threads=$((threads / ranks > 0 ? threads / ranks : 1)) run=ranks
sR=$secs
printf "%-34s %12s %14s %16s\n" "" "seconds" "run steps/s" "epoch steps/s"
printf "%-34s %12s %14.0f %16s\n" "1 process, $threads threads" "$s1" "$(python3 -c "print($steps / $s1)")" "$(rate "$tmp/one/metrics.jsonl")"
printf "%-34s %12s %14.0f %16s\n" "$ranks ranks x $((threads / ranks > 0 ? threads / ranks : 1)) thread(s) (mpirun)" "$sR" \
  "$(python3 -c "print($steps / $sR)")" "$(rate "$tmp/ranks/metrics.jsonl")"
