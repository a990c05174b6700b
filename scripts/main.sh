#!/usr/bin/env bash
# The main job: install dependencies, build (with CUDA when nvcc is found), and train the `fast` agent
# with PPO on the embedded hearts_room env (configs/env/mettagrid/hearts_room.yaml: 4 agents, 6 altars
# holding a heart each) for 800k agent steps, printing a progress line per epoch: the defaults of
# configs/train_job.yaml and configs/trainer/default.yaml. About 1-1.5 minutes on 2 CPU cores (see the
# README for measured figures); the mean episode reward rises from about 0.2 (random play) to about
# 0.6-0.7. Extra arguments are overrides for `metta train`
# (e.g. device=cuda, env=simple, agent=small, trainer.total_timesteps=2000000).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
scripts/install-deps.sh
scripts/build.sh build
echo "== metta train: fast agent, hearts_room, 16 envs x 4 agents =="
exec build/bin/metta train run="main_$(date +%Y%m%d_%H%M%S)" "$@"
