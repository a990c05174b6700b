#!/usr/bin/env bash
# Python interoperability: a policy file we write must load with Python's `safetensors`. Installs the
# package into a venv under the build folder; exits 77 (ctest: skipped) when it cannot be installed.
set -uo pipefail
build=$1
src=$(cd "$(dirname "$0")" && pwd)
venv="$build/safetensors-venv"
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import safetensors, numpy" 2>/dev/null; then
  python3 -m venv "$venv" >/dev/null 2>&1 && "$venv/bin/pip" install -q safetensors numpy >/dev/null 2>&1 || {
    echo "skipped: could not install Python's safetensors into $venv (no network?)"
    exit 77
  }
fi
out=$(mktemp -d)
METTA_SAFETENSORS_SAMPLE="$out" "$build/bin/test_checkpoint" --gtest_filter=Safetensors.WritePythonSample >/dev/null || exit 1
"$venv/bin/python" "$src/check_safetensors.py" "$out/model_0001.safetensors"
rc=$?
rm -rf "$out"
exit $rc
