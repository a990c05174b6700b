#!/usr/bin/env bash
# The documented API loop (examples/run.cpp) and `metta train` with the same config and seed must end
# with identical weights: compare the tensors (the data buffers after the headers) of their final model
# files; the headers differ (wall-clock train_time, the config each recorded). Then the same with a
# curriculum.
set -euo pipefail
example=$1
metta=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$example" 24576 "$tmp/api" >/dev/null
"$metta" train agent=small env=hearts_room num_envs=8 seed=1 threads=0 trainer.total_timesteps=24576 \
  trainer.batch_size=8192 trainer.minibatch_size=2048 trainer.bptt_horizon=16 trainer.update_epochs=1 \
  trainer.optimizer.learning_rate=0.002 data_dir="$tmp" run=cli >/dev/null
sum() {
  python3 -c 'import hashlib, struct, sys
b = open(sys.argv[1], "rb").read()
n = struct.unpack("<Q", b[:8])[0]
print(hashlib.sha256(b[8 + n:]).hexdigest())' "$1"
}
a=$(sum "$tmp/api/model_0003.safetensors")
b=$(sum "$tmp/cli/checkpoints/model_0003.safetensors")
echo "api: $a  cli: $b"
[ -n "$a" ] && [ "$a" = "$b" ]
# the same with a curriculum: tasks drawn per env at reset, completions fed back between rollouts
curriculum=$(cd "$(dirname "$0")" && pwd)/data/curriculum_hearts.yaml
"$example" 24576 "$tmp/api_curriculum" "$curriculum" >/dev/null
"$metta" train agent=small env="$curriculum" num_envs=8 seed=1 threads=0 trainer.total_timesteps=24576 \
  trainer.batch_size=8192 trainer.minibatch_size=2048 trainer.bptt_horizon=16 trainer.update_epochs=1 \
  trainer.optimizer.learning_rate=0.002 data_dir="$tmp" run=cli_curriculum >"$tmp/cli_curriculum.log"
a=$(sum "$tmp/api_curriculum/model_0003.safetensors")
b=$(sum "$tmp/cli_curriculum/checkpoints/model_0003.safetensors")
echo "curriculum api: $a  cli: $b"
[ -n "$a" ] && [ "$a" = "$b" ] && [ "$a" != "$(sum "$tmp/api/model_0003.safetensors")" ]
grep -q '"env_curriculum_task_probs/hearts_room"' "$tmp/cli_curriculum/metrics.jsonl"
# a policy trained on a curriculum evaluates on its first task
"$metta" eval --checkpoint "$tmp/cli_curriculum/checkpoints" --episodes 2 --num-envs 2 | grep -q '"mean_episode_reward"'
