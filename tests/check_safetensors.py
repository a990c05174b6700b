"""Loads a policy file written by metta-cpp with Python's `safetensors` and checks names, shapes, dtypes
and metadata against the expected `small` preset (used by tests/check_safetensors.sh)."""
import json
import sys

from safetensors.numpy import load_file
from safetensors import safe_open

path = sys.argv[1]
tensors = load_file(path)
with safe_open(path, framework="numpy") as f:
    meta = f.metadata()
assert meta["format"] == "metta-cpp.policy", meta
assert meta["epoch"] == "1" and meta["agent"] == "small", meta
assert json.loads(meta["action_names"]) == ["noop", "move"], meta
expected = {"cnn1.weight": (32, 22, 5, 5), "lstm.weight_ih_l0": (256, 64), "action.W": (1, 128, 16),
            "action.bias": (1,), "action_embeds.weight": (100, 16)}
for name, shape in expected.items():
    assert tensors[name].shape == shape, (name, tensors[name].shape)
    assert str(tensors[name].dtype) == "float32", (name, tensors[name].dtype)
assert abs(float(tensors["lstm.bias_ih_l0"].mean()) - 1.0) < 1e-7  # LSTM biases initialised to 1
total = sum(t.size for t in tensors.values())
print(f"python safetensors: {len(tensors)} tensors, {total} parameters, metadata ok")
assert total == 86850, total
