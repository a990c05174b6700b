#!/usr/bin/env bash
# Builds and runs every test: the default build (CUDA compiled when nvcc is found, tests on the CPU;
# GPU tests skip with a message when no GPU is present) and the CPU-only configuration.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
scripts/install-deps.sh
status=0
for cfg in "build" "build-cpu-only -DMETTA_CUDA=OFF"; do
  set -- $cfg
  dir=$1
  shift
  echo "== build $dir $* =="
  scripts/build.sh "$dir" "$@"
  echo "== test $dir =="
  (cd "$dir" && ctest --output-on-failure -j"$(nproc)") || status=1
done
exit $status
