#!/usr/bin/env bash
# Builds and runs every test: the default build (CUDA compiled when nvcc is found, tests on the CPU;
# GPU tests skip with a message when no GPU is present) and the CPU-only configuration, each with the
# Python module and its pytest suite (scripts/python-venv.sh makes the venv once per machine).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
scripts/install-deps.sh
# The Python module (python/) and its pytest suite: built in both folders with the venv's Python.
python_opt=()
if venv=$(scripts/python-venv.sh | tail -n 1) && [ -x "$venv/bin/python" ]; then
  python_opt=("-DPython_EXECUTABLE=$venv/bin/python")
else
  echo "test: no Python venv with nanobind (see above): the Python module and its tests are not built" >&2
  python_opt=("-DMETTA_PYTHON=OFF")
fi
status=0
for cfg in "build" "build-cpu-only -DMETTA_CUDA=OFF"; do
  set -- $cfg
  dir=$1
  shift
  echo "== build $dir $* =="
  scripts/build.sh "$dir" "$@" "${python_opt[@]}"
  echo "== test $dir =="
  (cd "$dir" && ctest --output-on-failure -j"$(nproc)") || status=1
done
exit $status
