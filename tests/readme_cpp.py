#!/usr/bin/env python3
"""Writes each ```cpp block of README.md as a program, so the README's C++ is compiled and run by the
tests exactly as written: #include and using lines at file scope, the rest inside main().
Usage: readme_cpp.py README.md OUT_DIR  -> OUT_DIR/readme_block_<n>.cpp (n = 1, 2, ... in README order)"""
import pathlib
import re
import sys

readme, out = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
out.mkdir(parents=True, exist_ok=True)
blocks = re.findall(r"^```cpp\n(.*?)^```", readme.read_text(), flags=re.S | re.M)
for n, block in enumerate(blocks, 1):
    head, body = [], []
    for line in block.splitlines():
        (head if line.startswith(("#include", "using namespace")) else body).append(line)
    text = ("// Generated from README.md by tests/readme_cpp.py: the README's C++ block %d, as written.\n" % n +
            "#include <cstdint>\n#include <cstdio>\n#include <string>\n#include <vector>\n" + "\n".join(head) +
            "\n\nint main() {\n" + "\n".join("  " + l if l else l for l in body) + "\n  return 0;\n}\n")
    path = out / ("readme_block_%d.cpp" % n)
    if not path.exists() or path.read_text() != text:
        path.write_text(text)
print(len(blocks))
