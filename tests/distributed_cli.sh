#!/usr/bin/env bash
# Data-parallel training on the CPU backend through OpenMPI (issue 15):
#  1. `mpirun -np 2` with 4 envs per rank ends with the weights of one process with 8 envs and the same
#     global batch: ||two - one|| at most 5 % of how far the last epoch moved one's weights (the sums run
#     in another order, and Adam divides by each weight's gradient scale), and the same episode counts
#     and rewards in metrics.jsonl. (One minibatch per epoch: then both see the same rows.)
#  2. A 2-rank run stopped after epoch 1 and resumed ends bit-identical to one run straight through.
#  3. A rank that stalls (SIGSTOP) makes the other fail within trainer.collective_timeout; a rank that is
#     killed stops the run at once. Neither hangs.
#  4. Errors: a batch that the ranks cannot share, and a checkpoint of another world size.
#  5. The documented API loop (examples/run.cpp) started by mpirun trains as one rank of two and ends with
#     the bits of `mpirun -np 2 metta train` with the same settings.
# Usage: distributed_cli.sh METTA EXAMPLE_RUN
set -euo pipefail
metta=$1
example=$2
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done; rm -rf "$tmp"; }
trap cleanup EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_btl_vader_single_copy_mechanism=none
mpi=(mpirun -np 2 --oversubscribe)
common=(agent=small env=hearts_room seed=3 threads=1 trainer.batch_size=8192 trainer.minibatch_size=8192
        trainer.bptt_horizon=16 trainer.update_epochs=2 trainer.checkpoint_interval=1 trainer.evaluate_interval=100
        data_dir="$tmp")

echo "== 1. two ranks vs one process"
"$metta" train "${common[@]}" num_envs=8 trainer.total_timesteps=24576 run=one >"$tmp/one.log"
"${mpi[@]}" "$metta" train "${common[@]}" num_envs=4 trainer.total_timesteps=24576 run=two >"$tmp/two.log" 2>&1 ||
  { cat "$tmp/two.log"; exit 1; }
grep -q "rank 0 of 2 (mpirun" "$tmp/two.log"
grep -q "global batch 8192" "$tmp/two.log"
python3 "$here/compare_weights.py" "$tmp/one/checkpoints/model_0003.safetensors" "$tmp/two/checkpoints/model_0003.safetensors" \
  "$tmp/one/checkpoints/model_0002.safetensors" 0.05
python3 - "$tmp/one/metrics.jsonl" "$tmp/two/metrics.jsonl" <<'PY'
import json, sys
one, two = ([json.loads(l) for l in open(p)] for p in sys.argv[1:3])
assert len(one) == len(two) == 3, (len(one), len(two))
for a, b in zip(one, two):
    for k in ("metric/agent_step", "metric/epoch", "env/episodes"):
        assert a[k] == b[k], (k, a[k], b[k])
    assert abs(a["overview/reward"] - b["overview/reward"]) < 1e-9, (a["overview/reward"], b["overview/reward"])
    for k in ("losses/policy_loss", "losses/value_loss", "losses/entropy", "losses/explained_variance"):
        assert abs(a[k] - b[k]) <= 1e-3 * max(1.0, abs(a[k])), (k, a[k], b[k])
print("metrics: episodes, rewards and losses agree over", len(one), "epochs")
PY

echo "== 2. resume across ranks"
"${mpi[@]}" "$metta" train "${common[@]}" num_envs=4 trainer.total_timesteps=8192 run=resumed >/dev/null 2>&1
"${mpi[@]}" "$metta" train "${common[@]}" num_envs=4 trainer.total_timesteps=24576 run=resumed >"$tmp/resumed.log" 2>&1 ||
  { cat "$tmp/resumed.log"; exit 1; }
grep -q "resumed from .* at epoch 1" "$tmp/resumed.log"
body() { python3 -c 'import struct, sys, hashlib
b = open(sys.argv[1], "rb").read(); n = struct.unpack("<Q", b[:8])[0]; print(hashlib.sha256(b[8 + n:]).hexdigest())' "$1"; }
[ "$(body "$tmp/resumed/checkpoints/model_0003.safetensors")" = "$(body "$tmp/two/checkpoints/model_0003.safetensors")" ]
echo "resumed: bit-identical to the run straight through"

# Starts a long 2-rank run in the background and waits for its first epoch; sets mpirun_pid and rank1.
start_long() {
  "${mpi[@]}" "$metta" train "${common[@]}" num_envs=4 trainer.total_timesteps=100000000000 trainer.collective_timeout=3 \
    run="$1" >"$tmp/$1.log" 2>&1 &
  mpirun_pid=$!
  pids+=("$mpirun_pid")
  for _ in $(seq 600); do grep -q "^epoch    1" "$tmp/$1.log" && break; sleep 0.1; done
  grep -q "^epoch    1" "$tmp/$1.log" || { cat "$tmp/$1.log"; echo "the run did not start"; exit 1; }
  rank1=$(sed -n 's/.*rank 1 of 2 (mpirun, local rank 1, pid \([0-9]*\)).*/\1/p' "$tmp/$1.log")
  [ -n "$rank1" ] || { cat "$tmp/$1.log"; echo "no pid of rank 1"; exit 1; }
  pids+=("$rank1")
}
# Waits up to $2 seconds for the mpirun started last; fails when it is still running or exited 0.
expect_stop() {
  local t0=$SECONDS
  for _ in $(seq $(($2 * 10))); do kill -0 "$mpirun_pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$mpirun_pid" 2>/dev/null; then cat "$tmp/$1.log"; echo "FAIL: still running after $2 s"; exit 1; fi
  local rc=0
  wait "$mpirun_pid" || rc=$?
  [ "$rc" -ne 0 ] || { cat "$tmp/$1.log"; echo "FAIL: exit status 0"; exit 1; }
  echo "$1: stopped with status $rc after $((SECONDS - t0)) s"
}

echo "== 3. a stalled rank, a killed rank"
start_long stalled
kill -STOP "$rank1"
expect_stop stalled 60
grep -q "did not complete within 3 s" "$tmp/stalled.log" || { cat "$tmp/stalled.log"; exit 1; }
kill -9 "$rank1" 2>/dev/null || true
start_long killed
kill -9 "$rank1"
expect_stop killed 60

echo "== 4. errors"
out=$("${mpi[@]}" "$metta" train "${common[@]}" num_envs=4 trainer.batch_size=8191 trainer.minibatch_size=8191 run=odd 2>&1 || true)
grep -q "trainer.batch_size: got 8191, expected a multiple of the world size 2" <<<"$out" || { echo "$out"; exit 1; }
out=$("$metta" train "${common[@]}" num_envs=4 trainer.total_timesteps=32768 run=two 2>&1 || true)
grep -q "saved by a run of 2 rank(s), this run has 1" <<<"$out" || { echo "$out"; exit 1; }

echo "== 5. the API loop as one rank of two"
"${mpi[@]}" -x OMP_NUM_THREADS=1 "$example" 24576 "$tmp/api" >"$tmp/api.log" 2>&1 || { cat "$tmp/api.log"; exit 1; }
"${mpi[@]}" "$metta" train agent=small env=hearts_room num_envs=8 seed=1 threads=1 trainer.total_timesteps=24576 \
  trainer.batch_size=8192 trainer.minibatch_size=2048 trainer.bptt_horizon=16 trainer.update_epochs=1 \
  trainer.optimizer.learning_rate=0.002 data_dir="$tmp" run=cli >"$tmp/cli.log" 2>&1 || { cat "$tmp/cli.log"; exit 1; }
[ "$(body "$tmp/api/model_0003.safetensors")" = "$(body "$tmp/cli/checkpoints/model_0003.safetensors")" ]
echo "api under mpirun: the same bits as metta train under mpirun"
echo "distributed: all checks passed"
