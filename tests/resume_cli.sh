#!/usr/bin/env bash
# Resume across processes: `metta train` for 4 epochs straight, and 2 epochs + (new process) resume to
# 4 epochs, must write byte-identical model and trainer-state files.
set -euo pipefail
metta=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
args=(train --agent small --env hearts_room --envs 2 --batch-size 1024 --minibatch-size 256 --bptt-horizon 8
      --seed 5 --threads 2)
"$metta" "${args[@]}" --total-timesteps 4096 --checkpoint-dir "$tmp/straight" >/dev/null
"$metta" "${args[@]}" --total-timesteps 2048 --checkpoint-dir "$tmp/split" >/dev/null
"$metta" "${args[@]}" --total-timesteps 4096 --checkpoint-dir "$tmp/split" >"$tmp/log"
grep -q "resumed from" "$tmp/log"
cmp "$tmp/straight/model_0004.safetensors" "$tmp/split/model_0004.safetensors"
cmp "$tmp/straight/trainer_state.safetensors" "$tmp/split/trainer_state.safetensors"
echo "resume across processes: identical model_0004 and trainer_state"
