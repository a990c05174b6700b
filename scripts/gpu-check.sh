#!/usr/bin/env bash
# One command for a machine with a GPU: build with CUDA (sm_90), run every test (GPU ones included),
# run the benchmarks and the CUDA simulator, and print a summary. Dependencies come from the system
# or, when present, from the .deb files that scripts/gpu-deps.sh put in .gpu-deps/ (unpacked into
# .gpu-deps/prefix). Usage: scripts/gpu-check.sh [BUILD_DIR]   (default build-gpu)
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$(pwd)
dir=${1:-build-gpu}
cmake_args=(-DMETTA_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90)

if compgen -G ".gpu-deps/*.deb" >/dev/null; then
  prefix=$root/.gpu-deps/prefix
  mkdir -p "$prefix"
  for f in .gpu-deps/*.deb; do
    if command -v dpkg >/dev/null; then
      dpkg -x "$f" "$prefix"
    else  # a .deb is an ar archive holding data.tar.*
      tmp=$(mktemp -d)
      (cd "$tmp" && ar x "$root/$f" && tar -xf data.tar.* -C "$prefix")
      rm -rf "$tmp"
    fi
  done
  cmake_args+=(-DCMAKE_PREFIX_PATH="$prefix/usr")
  export LD_LIBRARY_PATH="$prefix/usr/lib/x86_64-linux-gnu:$prefix/usr/lib/x86_64-linux-gnu/openblas-pthread${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  echo "gpu-check: dependencies from $prefix"
fi

echo "== machine =="
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || echo "nvidia-smi failed"
nvcc --version | tail -n 2
nproc

echo "== build $dir =="
scripts/build.sh "$dir" "${cmake_args[@]}" || { echo "gpu-check: BUILD FAILED"; exit 1; }

echo "== tests (all, GPU included) =="
(cd "$dir" && ctest --output-on-failure -j4) ; tests_rc=$?
echo "== GPU tests, verbose =="
(cd "$dir" && ctest -L gpu -V 2>&1 | grep -E "Test command|\[ +(OK|SKIPPED|FAILED) +\]|Skipped|skipped|Passed|Failed" )

echo "== benchmarks =="
"$dir/bin/bench_env" --benchmark_min_time=0.5 2>&1 | grep -E "^BM_|ERROR" ; bench_rc=${PIPESTATUS[0]}
echo "-- policy and training with the cuDNN LSTM (the default on CUDA) --"
"$dir/bin/bench_train" --benchmark_filter=Cuda 2>&1 | grep -E "^BM_|ERROR" ; [ "${PIPESTATUS[0]}" -eq 0 ] || bench_rc=1
echo "-- the same with our own LSTM kernels (METTA_LSTM=native) --"
METTA_LSTM=native "$dir/bin/bench_train" --benchmark_filter=Cuda 2>&1 | grep -E "^BM_|ERROR"

echo "== metta train on CUDA (fast agent, 60 s) =="
"$dir/bin/metta" train run=gpu-check data_dir="$(mktemp -d)" device=cuda agent=fast env=hearts_room num_envs=1024 \
  trainer.batch_size=262144 trainer.minibatch_size=16384 trainer.total_timesteps=20000000 max_seconds=60 2>&1 |
  grep -E "^policy:|^train:|^eval:|^epoch" | tail -n 12   # "policy: not using the cuDNN LSTM" means a fallback
echo "== metta bench on CUDA =="
"$dir/bin/metta" bench --seconds 5 2>&1 | tail -n 8

echo "== metta sim on CUDA =="
for envs in 1024 16384; do
  "$dir/bin/metta" sim --device cuda --envs "$envs" --seconds 5 2>&1 | grep -E "agent_steps_per_s|episodes|error" 
done

echo "== summary =="
echo "tests: $([ $tests_rc -eq 0 ] && echo PASSED || echo FAILED)  benchmarks: $([ $bench_rc -eq 0 ] && echo ran || echo FAILED)"
exit $((tests_rc != 0 || bench_rc != 0))
