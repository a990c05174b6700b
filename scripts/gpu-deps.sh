#!/usr/bin/env bash
# Run HERE (a machine with Debian's package mirror), before a GPU check: downloads the .deb files of the
# build dependencies into .gpu-deps/ (git-ignored). The GPU machine has nvcc, cmake and ninja but no
# Debian development packages and no network; carry .gpu-deps to it and scripts/gpu-check.sh unpacks
# them into a private prefix. Also nanobind's wheel, for the Python module.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
pkgs=(libyaml-cpp-dev libyaml-cpp0.7 libgtest-dev libbenchmark-dev libbenchmark1debian libcli11-dev
      nlohmann-json3-dev libopenblas-dev libopenblas-pthread-dev libopenblas0-pthread libgfortran5 libquadmath0
      zlib1g-dev zlib1g)
mkdir -p .gpu-deps
cd .gpu-deps
rm -f ./*.deb
apt-get download "${pkgs[@]}" >/dev/null
ls -1 ./*.deb
# nanobind for the Python module (a pure-Python wheel; gpu-check.sh installs it into .gpu-deps/pylib)
rm -rf wheels && mkdir wheels
python3 -m pip download -q --no-deps --only-binary=:all: -d wheels nanobind==3.1.0 >/dev/null ||
  echo "gpu-deps: could not download the nanobind wheel; the GPU check then builds no Python module" >&2
ls -1 wheels/
du -sh .
