#!/usr/bin/env bash
# A/B speed check: `scripts/bench-ab.sh BASE [HEAD] [-n N] [-s SECONDS] [--breakdown]`.
# Builds `metta` at both commits (CPU only, Release) in folders outside the tree, reused when present
# (${METTA_BENCH_AB_DIR:-/tmp/metta-bench-ab}/<sha>), runs `metta bench --no-cuda` alternately N times
# (BASE, HEAD, BASE, HEAD, ...) so both see the same machine, and prints each row's median for both and
# the ratio HEAD/BASE. HEAD defaults to HEAD; `.` means the working tree as it is now (tracked files,
# uncommitted edits included). Run it before calling a change "speed unchanged".
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
usage() { echo "usage: scripts/bench-ab.sh BASE [HEAD] [-n RUNS] [-s SECONDS_PER_ROW]" >&2; exit 2; }
runs=5
seconds=3
args=()
while [ $# -gt 0 ]; do
  case $1 in
    -n) runs=${2:?}; shift 2 ;;
    -s) seconds=${2:?}; shift 2 ;;
    -h|--help) usage ;;
    *) args+=("$1"); shift ;;
  esac
done
[ ${#args[@]} -ge 1 ] && [ ${#args[@]} -le 2 ] || usage
base_ref=${args[0]}
head_ref=${args[1]:-HEAD}
work=${METTA_BENCH_AB_DIR:-/tmp/metta-bench-ab}
mkdir -p "$work"

# resolves a ref to a commit; `.` becomes a commit of the working tree (git stash create), or HEAD when clean
resolve() {
  if [ "$1" = "." ]; then
    local c
    c=$(git -C "$root" stash create)
    git -C "$root" rev-parse "${c:-HEAD}"
  else
    git -C "$root" rev-parse --verify "$1^{commit}"
  fi
}

# builds bin/metta of commit $1 into $work/<sha>/build (once) and prints the binary's path
build_commit() {
  local sha=$1 dir="$work/$1"
  if [ ! -x "$dir/build/bin/metta" ]; then
    echo "bench-ab: building ${sha:0:10} in $dir" >&2
    rm -rf "$dir/src"
    mkdir -p "$dir/src"
    git -C "$root" archive "$sha" | tar -x -C "$dir/src"
    cmake -S "$dir/src" -B "$dir/build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DMETTA_CUDA=OFF >"$dir/cmake.log" 2>&1 ||
      { cat "$dir/cmake.log" >&2; exit 1; }
    cmake --build "$dir/build" --target metta -- -j"$(nproc)" >"$dir/build.log" 2>&1 ||
      { tail -40 "$dir/build.log" >&2; exit 1; }
  fi
  echo "$dir/build/bin/metta"
}

base=$(resolve "$base_ref")
head=$(resolve "$head_ref")
base_bin=$(build_commit "$base")
head_bin=$(build_commit "$head")
out="$work/runs-${base:0:10}-${head:0:10}-$$"
mkdir -p "$out"
echo "bench-ab: base $base_ref (${base:0:10}), head $head_ref (${head:0:10}), $runs runs each, ${seconds}s a row, interleaved"
for i in $(seq 1 "$runs"); do
  for side in base head; do
    bin=$base_bin
    [ $side = head ] && bin=$head_bin
    "$bin" bench --no-cuda --seconds "$seconds" >"$out/$side-$i.txt"
    echo "bench-ab: run $i/$runs $side done" >&2
  done
done

# rows are "label   number"; older builds label the one-pass training rows without ", 1 update pass"
python3 - "$out" "$runs" <<'EOF'
import re, statistics, sys
out, runs = sys.argv[1], int(sys.argv[2])
rows = {}
order = []
for side in ("base", "head"):
    for i in range(1, runs + 1):
        for line in open(f"{out}/{side}-{i}.txt"):
            m = re.match(r"^(\S.*?)\s{2,}([0-9.]+)\s*$", line.rstrip("\n"))
            if not m or m.group(1) == "benchmark":
                continue
            label = m.group(1)
            if label.startswith("train ") and "update pass" not in label:
                label += ", 1 update pass"
            if label not in rows:
                rows[label] = {"base": [], "head": []}
                order.append(label)
            rows[label][side].append(float(m.group(2)))
print(f"{'row (agent-steps/s, median of runs)':62} {'base':>11} {'head':>11} {'ratio':>6}")
for label in order:
    b, h = rows[label]["base"], rows[label]["head"]
    mb = statistics.median(b) if b else None
    mh = statistics.median(h) if h else None
    ratio = f"{mh / mb:6.3f}" if mb and mh else "     -"
    fmt = lambda v: f"{v:11.0f}" if v is not None else f"{'-':>11}"
    print(f"{label:62} {fmt(mb)} {fmt(mh)} {ratio}")
print(f"(each run's figures: {out})")
EOF
