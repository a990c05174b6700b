#!/usr/bin/env bash
# The learning benchmark of the shaped-to-simple curriculum (issue 14): trains on
# configs/env/mettagrid/curriculum/shaped_to_simple.yaml and prints, per epoch, the agent steps, each
# task's probability and mean episode reward, and the mean episode reward of all tasks. A benchmark that
# prints figures, not a test: read the curve. Usage: scripts/curriculum-curve.sh BUILD_DIR [STEPS]
# [overrides...] (default 5,000,000 agent steps; e.g. device=cuda agent=fast num_envs=null).
set -euo pipefail
build=${1:?usage: scripts/curriculum-curve.sh BUILD_DIR [STEPS] [overrides...]}
steps=${2:-5000000}
shift $(( $# >= 2 ? 2 : 1 ))
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
"$build/bin/metta" train run=curve data_dir="$out" env="$root/configs/env/mettagrid/curriculum/shaped_to_simple.yaml" \
  trainer.total_timesteps="$steps" trainer.verbose=false "$@" >"$out/train.log"
python3 - "$out/curve/metrics.jsonl" <<'PY'
import json, sys
rows = [json.loads(line) for line in open(sys.argv[1])]
tasks = sorted({k.split("/", 1)[1] for r in rows for k in r if k.startswith("env_curriculum_task_probs/")})
short = [t.rsplit("/", 1)[-1].replace(".yaml", "") for t in tasks]
print("%10s %8s  " % ("agent_step", "reward") + "  ".join("%14s %7s" % (s[:14], "reward") for s in short))
for r in rows:
    cells = []
    for t in tasks:
        p = r.get("env_curriculum_task_probs/" + t, float("nan"))
        m = r.get("env_task_reward/%s/rewards.mean" % t)
        cells.append("%14.3f %7s" % (p, "-" if m is None else "%.3f" % m))
    print("%10d %8.3f  " % (r.get("metric/agent_step", 0), r.get("overview/reward", r.get("env/mean_episode_reward", 0.0))) +
          "  ".join(cells))
PY
