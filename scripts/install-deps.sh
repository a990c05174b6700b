#!/usr/bin/env bash
# Installs the Debian packages the project builds and tests with. Idempotent: installs only what is
# missing. The CUDA toolkit (nvcc, cuBLAS, cuDNN, CUB) is not a Debian package here: when it is absent
# the build is CPU-only (METTA_CUDA=AUTO).
set -euo pipefail

pkgs=(cmake ninja-build g++ libyaml-cpp-dev nlohmann-json3-dev libcli11-dev libopenblas-dev
      libgtest-dev libbenchmark-dev python3-venv zlib1g-dev
      libopenmpi-dev openmpi-bin)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  echo "install-deps: all packages present"
  exit 0
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo=sudo; fi
echo "install-deps: installing ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-deps: done"
