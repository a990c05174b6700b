#!/usr/bin/env bash
# Resume across processes: `metta train` for 4 epochs straight, and 2 epochs + (new process) resume to
# 4 epochs, must write byte-identical model and trainer-state files.
set -euo pipefail
metta=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
args=(train agent=small env=hearts_room num_envs=2 trainer.batch_size=1024 trainer.minibatch_size=256
      trainer.bptt_horizon=8 trainer.update_epochs=1 seed=5 threads=2 data_dir="$tmp")
"$metta" "${args[@]}" run=straight trainer.total_timesteps=4096 >/dev/null
"$metta" "${args[@]}" run=split trainer.total_timesteps=2048 >/dev/null
"$metta" "${args[@]}" run=split trainer.total_timesteps=4096 >"$tmp/log"
grep -q "resumed from" "$tmp/log"
cmp "$tmp/straight/checkpoints/model_0004.safetensors" "$tmp/split/checkpoints/model_0004.safetensors"
cmp "$tmp/straight/checkpoints/trainer_state.safetensors" "$tmp/split/checkpoints/trainer_state.safetensors"
grep -q "batch_size: 1024" "$tmp/straight/config.yaml"
test "$(wc -l < "$tmp/straight/metrics.jsonl")" -eq 4
ls "$tmp/straight"/events.out.tfevents.* >/dev/null
# eval of the checkpoint: a JSON summary; a corrupt file is a clear error
"$metta" eval --checkpoint "$tmp/straight/checkpoints/model_0004.safetensors" --episodes 4 --num-envs 2 >"$tmp/eval.json"
grep -q '"mean_episode_reward"' "$tmp/eval.json"
head -c 1000 "$tmp/straight/checkpoints/model_0004.safetensors" >"$tmp/cut.safetensors"
if "$metta" eval --checkpoint "$tmp/cut.safetensors" 2>"$tmp/err"; then exit 1; fi
grep -q "truncated" "$tmp/err"
echo "resume across processes: identical model_0004 and trainer_state; eval ok"
