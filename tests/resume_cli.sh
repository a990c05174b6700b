#!/usr/bin/env bash
# Resume across processes: `metta train` for 4 epochs straight, and 2 epochs + (new process) resume to
# 4 epochs, must write identical model and trainer-state files (all but the wall-clock train_time).
# Then `metta eval` of the result, with a replay, with an evaluation suite (also run in training), and of a
# truncated file (a clear error); and a run
# stopped with Ctrl-C saves at the end of its epoch and resumes.
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
# identical files except the wall-clock train_time in the metadata and the checksum, which covers it
same_except_time() {
  python3 - "$1" "$2" <<'PY'
import json, struct, sys
def load(path):
    b = open(path, "rb").read()
    n = struct.unpack("<Q", b[:8])[0]
    header = json.loads(b[8:8 + n])
    header["__metadata__"].pop("train_time")
    header["__metadata__"].pop("checksum")
    return header, b[8 + n:]
a, b = load(sys.argv[1]), load(sys.argv[2])
sys.exit(0 if a == b else 1)
PY
}
same_except_time "$tmp/straight/checkpoints/model_0004.safetensors" "$tmp/split/checkpoints/model_0004.safetensors"
same_except_time "$tmp/straight/checkpoints/trainer_state_0004.safetensors" "$tmp/split/checkpoints/trainer_state_0004.safetensors"
# the same with a curriculum: its state is in each model's metadata and comes back on resume
cargs=("${args[@]}" env="$(dirname "$0")/data/curriculum_hearts.yaml")
"$metta" "${cargs[@]}" run=cstraight trainer.total_timesteps=6144 >/dev/null
"$metta" "${cargs[@]}" run=csplit trainer.total_timesteps=3072 >/dev/null
"$metta" "${cargs[@]}" run=csplit trainer.total_timesteps=6144 >/dev/null
same_except_time "$tmp/cstraight/checkpoints/model_0006.safetensors" "$tmp/csplit/checkpoints/model_0006.safetensors"
same_except_time "$tmp/cstraight/checkpoints/trainer_state_0006.safetensors" "$tmp/csplit/checkpoints/trainer_state_0006.safetensors"
grep -q "batch_size: 1024" "$tmp/straight/config.yaml"
test "$(wc -l < "$tmp/straight/metrics.jsonl")" -eq 4
ls "$tmp/straight"/events.out.tfevents.* >/dev/null
# eval of the checkpoint: a JSON summary; a corrupt file is a clear error
"$metta" eval --checkpoint "$tmp/straight/checkpoints/model_0004.safetensors" --episodes 4 --num-envs 2 >"$tmp/eval.json"
grep -q '"mean_episode_reward"' "$tmp/eval.json"
# the final evaluation's score is in the model metadata; an eval replay is a zlib stream of v2 JSON
grep -q '"eval_eval/score"' "$tmp/straight/metrics.jsonl"
"$metta" eval --checkpoint "$tmp/straight/checkpoints/model_0004.safetensors" --episodes 1 --num-envs 1 \
  --replay "$tmp/game.json.z" >/dev/null
python3 -c "import json,sys,zlib; d=json.loads(zlib.decompress(open(sys.argv[1],'rb').read())); \
assert d['version'] == 2 and sum(1 for o in d['objects'] if o.get('is_agent')) == d['num_agents']" "$tmp/game.json.z"
# an evaluation suite: per simulation and category, the score; one replay per simulation
suite=$(dirname "$0")/data/suite_hearts.yaml
"$metta" eval --checkpoint "$tmp/straight/checkpoints" --suite "$suite" --num-envs 2 --replay-dir "$tmp/replays" \
  >"$tmp/suite.json"
python3 -c "import json,sys; d=json.load(open(sys.argv[1])); s=d['scores']; \
assert abs(d['score'] - (s['eval_rooms/score'] + s['eval_other/score']) / 2) < 1e-9; \
assert [x['name'] for x in d['simulations']] == ['rooms/a', 'other/b'] and d['simulations'][0]['episodes'] >= 4" \
  "$tmp/suite.json"
ls "$tmp/replays/rooms_a.json.z" "$tmp/replays/other_b.json.z" >/dev/null
# the suite in training: its keys in the metrics, its score in the model metadata
"$metta" "${args[@]}" run=suite trainer.total_timesteps=1024 trainer.simulation.suite="$suite" \
  trainer.simulation.num_episodes=2 >"$tmp/suite.log"
grep -q "eval: rooms/a" "$tmp/suite.log"
grep -q '"eval_rooms/a"' "$tmp/suite/metrics.jsonl"
grep -q '"overview/other_score"' "$tmp/suite/metrics.jsonl"
python3 - "$tmp/suite/checkpoints/model_0001.safetensors" "$tmp/suite/metrics.jsonl" <<'PY'
import json, struct, sys
b = open(sys.argv[1], "rb").read()
meta = json.loads(b[8:8 + struct.unpack("<Q", b[:8])[0]])["__metadata__"]
score = float(json.loads(meta["user_metadata"])["score"])
line = json.loads(open(sys.argv[2]).read().splitlines()[-1])
cats = [line["eval_eval/score"], line["eval_rooms/score"], line["eval_other/score"]]
assert abs(score - sum(cats) / 3) < 1e-5, (score, cats)  # the mean of the three category scores
PY
head -c 1000 "$tmp/straight/checkpoints/model_0004.safetensors" >"$tmp/cut.safetensors"
if "$metta" eval --checkpoint "$tmp/cut.safetensors" 2>"$tmp/err"; then exit 1; fi
grep -q "truncated" "$tmp/err"
# Ctrl-C (SIGINT): the epoch in flight finishes, a checkpoint is saved, the exit status is 130, and the
# same command resumes
"$metta" "${args[@]}" run=stop trainer.total_timesteps=100000000 >"$tmp/stop.log" 2>&1 &
pid=$!
for _ in $(seq 1 200); do
  [ -s "$tmp/stop/metrics.jsonl" ] && break
  sleep 0.1
done
kill -INT "$pid"
rc=0
wait "$pid" || rc=$?
[ "$rc" -eq 130 ]  # interrupted: its own exit status, not success
grep -q "train: interrupted" "$tmp/stop.log"
if grep -q "train: done" "$tmp/stop.log"; then exit 1; fi
ls "$tmp/stop/checkpoints"/model_*.safetensors >/dev/null
"$metta" "${args[@]}" run=stop trainer.total_timesteps=1 >"$tmp/stop2.log"
grep -q "resumed from" "$tmp/stop2.log"
echo "resume across processes: identical model_0004 and trainer_state; eval and suites ok; SIGINT saves and resumes"
