#!/usr/bin/env bash
# Makes (once per machine) the Python venv that builds and tests the metta_cpp module, and prints its path
# on the last line. Usage: scripts/python-venv.sh   (METTA_PYTHON_VENV=DIR picks another place)
# It lives outside the clone (default ~/.cache/metta-cpp/python-venv) because PufferLib's trainer brings
# PyPI's torch, several GB of CUDA wheels: a fresh clone reuses it. Two layers:
#   build and checks: nanobind, scikit-build-core, numpy, gymnasium, pettingzoo, pytest, safetensors
#   PufferLib:        pufferlib-core 3.0.23 (Metta's PufferLib 3, a prebuilt wheel; pins torch 2.9.0)
# When the PufferLib layer cannot be installed (no network, no disk) the venv keeps the first layer and
# the tests that need PufferLib skip, saying why. Exits 1 only when the first layer cannot be installed.
set -uo pipefail
venv=${METTA_PYTHON_VENV:-$HOME/.cache/metta-cpp/python-venv}
base=(nanobind==3.1.0 scikit-build-core==1.1.2 numpy gymnasium==1.4.0 pettingzoo==1.27.0 pytest safetensors)
puffer=(pufferlib-core==3.0.23)
have() { "$venv/bin/python" -c "$1" >/dev/null 2>&1; }
if ! have "import nanobind, numpy, gymnasium, pettingzoo, pytest, safetensors"; then
  echo "python-venv: installing ${base[*]} into $venv" >&2
  mkdir -p "$(dirname "$venv")"
  { [ -x "$venv/bin/python" ] || python3 -m venv "$venv"; } >&2 &&
    "$venv/bin/pip" install -q --disable-pip-version-check "${base[@]}" >&2 || {
      echo "python-venv: could not install the build packages into $venv (no network?)" >&2
      exit 1
    }
fi
if ! have "import pufferlib, torch" && [ ! -e "$venv/.pufferlib-failed" ]; then
  echo "python-venv: installing ${puffer[*]} and its torch into $venv (once per machine; several GB)" >&2
  if ! "$venv/bin/pip" install -q --disable-pip-version-check "${puffer[@]}" >&2; then
    echo "python-venv: could not install ${puffer[*]}; PufferLib's tests will skip (delete $venv/.pufferlib-failed to retry)" >&2
    touch "$venv/.pufferlib-failed"
  fi
fi
echo "$venv"
