#!/usr/bin/env bash
# Faults and misuse of `metta train` run folders, end to end (issue 10). Each step states the rule it checks:
# runs never mix, never lose or repeat records, and every failure says what to do.
set -euo pipefail
metta=$1
tmp=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$tmp"' EXIT
args=(train agent=small env=hearts_room num_envs=2 trainer.batch_size=1024 trainer.minibatch_size=256
      trainer.bptt_horizon=8 trainer.update_epochs=1 trainer.checkpoint_interval=2 trainer.evaluate_interval=1000
      trainer.simulation.num_episodes=1 seed=5 threads=2 data_dir="$tmp")
fail() { echo "FAILED: $*" >&2; exit 1; }
expect_error() {  # expect_error LOG PATTERN -- command...: fails with rc != 0 and PATTERN in its output
  local log=$1 pattern=$2
  shift 3
  if "$@" >"$log" 2>&1; then fail "succeeded: $*"; fi
  grep -q -- "$pattern" "$log" || { cat "$log"; fail "no '$pattern' in the output of: $*"; }
}
sha() { sha256sum "$@" | awk '{print $1}'; }
epochs_of() { python3 -c 'import json,sys; print(" ".join(str(json.loads(l)["metric/epoch"]) for l in open(sys.argv[1])))' "$1"; }

# a reference run: 8 epochs straight
"$metta" "${args[@]}" run=straight trainer.total_timesteps=8192 >/dev/null

# 3. models without a trainer state: an error with the ways out, and nothing in the folder changes
"$metta" "${args[@]}" run=nostate trainer.total_timesteps=4096 >/dev/null
rm "$tmp"/nostate/checkpoints/trainer_state_*.safetensors
before=$(cd "$tmp/nostate" && find . -type f ! -name .lock -exec sha256sum {} + | sort)
expect_error "$tmp/log" "no trainer state" -- "$metta" "${args[@]}" run=nostate trainer.total_timesteps=8192
grep -q "trainer.initial_policy.uri=" "$tmp/log" || fail "item 3: no way out named"
after=$(cd "$tmp/nostate" && find . -type f ! -name .lock -exec sha256sum {} + | sort)
[ "$before" = "$after" ] || fail "item 3: the folder changed"
"$metta" "${args[@]}" run=nostate trainer.total_timesteps=2048 existing_run=archive >/dev/null
ls "$tmp"/nostate.archive-1/checkpoints/model_0004.safetensors >/dev/null || fail "item 3: not archived"

# 4. trainer.resume=false on a folder holding a run: refused; archive and overwrite set it aside
expect_error "$tmp/log" "would mix two runs" -- "$metta" "${args[@]}" run=straight trainer.resume=false
"$metta" "${args[@]}" run=nostate trainer.resume=false existing_run=overwrite trainer.total_timesteps=1024 >/dev/null
[ "$(epochs_of "$tmp/nostate/metrics.jsonl")" = "1" ] || fail "item 4: overwrite kept old records"

# 5. a resume with changed training keys is refused, listing them, before anything is written
cfg=$(sha "$tmp/straight/config.yaml")
model=$(sha "$tmp/straight/checkpoints/model_0008.safetensors")
expect_error "$tmp/log" "trainer.optimizer.learning_rate: 0.002 -> 0.01" -- \
  "$metta" "${args[@]}" run=straight trainer.optimizer.learning_rate=0.01 trainer.total_timesteps=9000
[ "$(sha "$tmp/straight/config.yaml")" = "$cfg" ] || fail "item 5: config.yaml rewritten by a refused resume"
#    a finished run run again (with a safe change) trains nothing and rewrites no model
"$metta" "${args[@]}" run=straight trainer.total_timesteps=8192 trainer.evaluate_interval=2000 >"$tmp/log"
grep -q "nothing to train" "$tmp/log" || fail "item 5: no 'nothing to train'"
[ "$(sha "$tmp/straight/checkpoints/model_0008.safetensors")" = "$model" ] || fail "item 5: model rewritten"

# 6. two processes on one run: the second exits with a clear error
"$metta" "${args[@]}" run=busy trainer.total_timesteps=100000000 >/dev/null 2>&1 &
busy=$!
for _ in $(seq 1 100); do [ -s "$tmp/busy/.lock" ] && break; sleep 0.1; done
expect_error "$tmp/log" "another metta train is using this run (pid $busy)" -- "$metta" "${args[@]}" run=busy
kill -9 "$busy"
wait "$busy" 2>/dev/null || true

# 7. a failed metrics write fails the run (a full disk: metrics.jsonl is /dev/full)
mkdir -p "$tmp/full"
ln -s /dev/full "$tmp/full/metrics.jsonl"
expect_error "$tmp/log" "cannot write the metrics log" -- "$metta" "${args[@]}" run=full existing_run=refuse \
  trainer.total_timesteps=2048 trainer.resume=true

# 8 + SIGKILL: runs killed at random moments resume to the same model as the straight run, with every
#    epoch recorded once and no temporary file left. Each kill comes within 40 ms of its k-th epoch record
#    (an epoch takes about 50 ms on 2 Zen3 cores), so at least two epochs remain: the kill lands mid-run.
for k in 1 3 5; do  # killed while its k-th epoch (of 8) records, or at a random moment after
  "$metta" "${args[@]}" run=killed trainer.total_timesteps=8192 >/dev/null 2>&1 &
  pid=$!
  for _ in $(seq 1 3000); do
    [ "$(cat "$tmp/killed/metrics.jsonl" 2>/dev/null | wc -l)" -ge "$k" ] && break
    sleep 0.01
  done
  sleep "0.0$((RANDOM % 3))"
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  recorded=$(cat "$tmp/killed/metrics.jsonl" 2>/dev/null | wc -l)
  echo "killed at $recorded epochs recorded, checkpoints: $(ls "$tmp/killed/checkpoints" 2>/dev/null | tr "\n" " ")"
  [ "$recorded" -lt 8 ] || fail "SIGKILL: the run ended before its kill ($k)"
done
: >"$tmp/killed/checkpoints/model_0099.safetensors.tmp.99999"  # a leftover of an interrupted write
"$metta" "${args[@]}" run=killed trainer.total_timesteps=8192 >"$tmp/log"
[ "$(epochs_of "$tmp/killed/metrics.jsonl")" = "1 2 3 4 5 6 7 8" ] || fail "item 8: epochs $(epochs_of "$tmp/killed/metrics.jsonl")"
[ ! -e "$tmp/killed/checkpoints/model_0099.safetensors.tmp.99999" ] || fail "item 8: stale temp file kept"
python3 - "$tmp/straight/checkpoints/model_0008.safetensors" "$tmp/killed/checkpoints/model_0008.safetensors" <<'PY' || fail "SIGKILL: other weights"
import struct, sys
def data(p):
    b = open(p, "rb").read()
    return b[8 + struct.unpack("<Q", b[:8])[0]:]
sys.exit(0 if data(sys.argv[1]) == data(sys.argv[2]) else 1)
PY
python3 - "$tmp/killed" <<'PY' || fail "item 8: TensorBoard steps repeated"
import glob, struct, sys
steps = []
for path in glob.glob(sys.argv[1] + "/events.out.tfevents.*"):
    b = open(path, "rb").read()
    pos = 0
    while pos < len(b):
        n = struct.unpack("<Q", b[pos:pos + 8])[0]
        rec = b[pos + 12:pos + 12 + n]
        pos += 12 + n + 4
        i = 0
        while i < len(rec):  # Event: field 1 wall_time (fixed64), 2 step (varint), 3/5 bytes
            key = rec[i]; i += 1
            if key == 0x09: i += 8
            elif key == 0x10:
                v = s = 0
                while True:
                    c = rec[i]; i += 1; v |= (c & 0x7F) << s; s += 7
                    if not c & 0x80: break
                steps.append(v)
            else:
                n2 = s = 0
                while True:
                    c = rec[i]; i += 1; n2 |= (c & 0x7F) << s; s += 7
                    if not c & 0x80: break
                i += n2
sys.exit(0 if len(steps) == len(set(steps)) == 8 else 1)
PY

# 9. a corrupt newest checkpoint: named, with resume_from to an older one; that continues the run
"$metta" "${args[@]}" run=corrupt trainer.total_timesteps=6144 >/dev/null
m6="$tmp/corrupt/checkpoints/model_0006.safetensors"
printf 'X' | dd of="$m6" bs=1 seek=$(($(stat -c %s "$m6") - 100)) conv=notrunc 2>/dev/null  # a weight byte
expect_error "$tmp/log" "model_0006.safetensors: checksum mismatch" -- "$metta" "${args[@]}" run=corrupt trainer.total_timesteps=8192
grep -q "trainer.resume_from=.*model_0004.safetensors" "$tmp/log" || fail "item 9: no resume_from offered"
"$metta" "${args[@]}" run=corrupt trainer.total_timesteps=8192 \
  trainer.resume_from="$tmp/corrupt/checkpoints/model_0004.safetensors" >"$tmp/log"
grep -q "resumed from .* at epoch 4" "$tmp/log" || fail "item 9: did not resume at epoch 4"
ls "$tmp/corrupt/checkpoints/abandoned/model_0006.safetensors" >/dev/null || fail "item 9: newer not set aside"
[ "$(epochs_of "$tmp/corrupt/metrics.jsonl")" = "1 2 3 4 5 6 7 8" ] || fail "item 9: epochs $(epochs_of "$tmp/corrupt/metrics.jsonl")"

# 15. eval takes a checkpoint folder or a file:// URI, plays the env the policy was trained on, and
#     caps --num-envs by --episodes
"$metta" eval --checkpoint "file://$tmp/straight/checkpoints" --episodes 2 --num-envs 16 >"$tmp/eval.json"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["env"] == "hearts_room" and d["num_envs"] == 2 \
  and d["checkpoint"].endswith("model_0008.safetensors"), d' "$tmp/eval.json" || fail "item 15"
echo "run folders: every rule held (missing state, resume=false, changed keys, lock, full disk, kills, corrupt newest, eval URIs)"
