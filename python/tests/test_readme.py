# The README's ```python blocks of metta_cpp run as written (the README says what runs, runs); a block that imports
# a package missing from this venv is skipped, naming it.
import os
import re

import pytest

README = os.path.join(os.path.dirname(__file__), "..", "..", "README.md")
BLOCKS = [b for b in re.findall(r"^```python\n(.*?)^```", open(README).read(), flags=re.S | re.M) if "metta_cpp" in b]


def test_the_readme_has_python_examples():
    assert len(BLOCKS) >= 3


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_a_readme_python_block_runs(index, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # a block may write files (metta_cpp.train's ./train_dir)
    code = BLOCKS[index]
    for mod in ("torch", "pufferlib", "gymnasium", "pettingzoo"):
        if re.search(rf"\bimport .*\b{mod}\b|from {mod}\b", code):
            pytest.importorskip(mod)
    exec(compile(code, f"README.md python block {index}", "exec"), {})
