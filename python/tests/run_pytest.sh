#!/bin/sh
# ctest's python_tests: pytest over python/tests with the build's Python; exit 77 (ctest: skipped) when
# that Python has no pytest (a GPU machine's system Python, say).
py=$1
shift
"$py" -c "import pytest" 2>/dev/null || { echo "python_tests: $py has no pytest; skipped"; exit 77; }
exec "$py" -m pytest -q -p no:cacheprovider "$@"
