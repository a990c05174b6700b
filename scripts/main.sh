#!/usr/bin/env bash
# The main job: install dependencies, build (with CUDA when nvcc is found), and train the `fast` agent
# with PPO on the embedded hearts_room env (configs/env/mettagrid/hearts_room.yaml: 4 agents, 6 altars
# holding a heart each) for about 800k agent steps, printing a progress line per epoch. A few minutes on
# 2 CPU cores; the mean episode reward rises from ~0.2 (random play) toward ~0.6 and beyond.
# Extra arguments go to `metta train` (e.g. --device cuda, --env simple, --total-timesteps 2000000).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
scripts/install-deps.sh
scripts/build.sh build
echo "== metta train: fast agent, hearts_room, 16 envs x 4 agents =="
exec build/bin/metta train --agent fast --env hearts_room --envs 16 --total-timesteps 800000 \
  --batch-size 16384 --minibatch-size 2048 --bptt-horizon 16 --update-epochs 2 --lr 0.002 "$@"
