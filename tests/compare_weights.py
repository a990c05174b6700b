#!/usr/bin/env python3
"""Compares the F32 tensors of two model files (safetensors) A and B that started from the same weights:
||A - B|| must be at most MAX_RATIO x ||A - C||, where C is an earlier model of A's run (how far
training moved the weights since). Prints the figures; exits 1 when a tensor is missing, has another
shape, or the ratio is exceeded."""
import json
import math
import struct
import sys
from array import array


def tensors(path):
    data = open(path, "rb").read()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    body = data[8 + n:]
    out = {}
    for name, t in header.items():
        if name == "__metadata__" or t["dtype"] != "F32":
            continue
        a, b = t["data_offsets"]
        out[name] = (t["shape"], array("f", body[a:b]))
    return out


def main():
    if len(sys.argv) != 5:
        sys.exit("usage: compare_weights.py A B C MAX_RATIO")
    a, b, c = (tensors(p) for p in sys.argv[1:4])
    max_ratio = float(sys.argv[4])
    if sorted(a) != sorted(b) or sorted(a) != sorted(c) or not a:
        sys.exit("different tensors: %s vs %s vs %s" % (sorted(a), sorted(b), sorted(c)))
    diff, moved, worst = 0.0, 0.0, 0.0
    for name in a:
        if not (a[name][0] == b[name][0] == c[name][0]):
            sys.exit("%s: shapes %s, %s, %s" % (name, a[name][0], b[name][0], c[name][0]))
        for x, y, z in zip(a[name][1], b[name][1], c[name][1]):
            diff += (x - y) ** 2
            moved += (x - z) ** 2
            worst = max(worst, abs(x - y))
    ratio = math.sqrt(diff / moved) if moved > 0 else float("inf")
    print("||A-B|| %.3g, max |A-B| %.3g, ||A-C|| %.3g: ratio %.3g (at most %g)" %
          (math.sqrt(diff), worst, math.sqrt(moved), ratio, max_ratio))
    sys.exit(0 if ratio <= max_ratio else 1)


main()
