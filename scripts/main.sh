#!/usr/bin/env bash
# The main job: install dependencies, build (with CUDA when nvcc is found), and run the simulator on
# the embedded default environment (configs/env/mettagrid/simple.yaml) with progress output.
# Extra arguments go to `metta sim` (e.g. --seconds 20 --device cuda).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
scripts/install-deps.sh
scripts/build.sh build
echo "== metta sim: 64 simple envs x 24 agents, random actions, all CPU threads =="
exec build/bin/metta sim --envs 64 --seconds 5 "$@"
