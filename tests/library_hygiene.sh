#!/usr/bin/env bash
# The library behaves like one (issue 11): no file of kernels/, engine/, nn/ or train/ reads the
# environment, re-executes the process or writes to stdout/stderr. Choices come in through config or the
# API, messages through the log callback (kernels/log.h). Comment lines are not code and are skipped.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
pattern='getenv|secure_getenv|execv|execl|system\(|popen|stdout|stderr|std::cout|std::cerr|std::clog|(^|[^sn])printf\(|puts\(|perror\('
found=$(grep -rnE "$pattern" "$root"/kernels "$root"/engine "$root"/nn "$root"/train \
          --include='*.h' --include='*.cpp' --include='*.cu' --include='*.in' | grep -vE '^[^:]+:[0-9]+:\s*//' || true)
if [ -n "$found" ]; then
  echo "library files that read the environment, re-execute or print:" >&2
  echo "$found" >&2
  exit 1
fi
echo "kernels/, engine/, nn/ and train/: no getenv, exec or printing"
