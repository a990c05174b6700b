# metta_cpp.train: the whole `metta train` job from Python. Proved against the CLI of the same build
# folder (same job and seed, the same weights and trainer state, bit for bit), with Ctrl-C sent to a real
# process, progress through Python's logging, and the errors of a bad job.
import logging
import os
import pathlib
import re
import signal
import subprocess
import sys

import numpy as np
import pytest

import metta_cpp
from metta_cpp import _core

JOB = ["agent=small", "trainer.total_timesteps=40000", "num_envs=8", "trainer.checkpoint_interval=1",
       "trainer.evaluate_interval=2"]


def metta_cli():
    # <build>/python/metta_cpp/_core*.so -> <build>/bin/metta (absent from a pip-installed module)
    path = pathlib.Path(_core.__file__).resolve().parents[2] / "bin" / "metta"
    if not path.exists():
        pytest.skip(f"no metta program beside this module ({path}): a build folder's module is needed")
    return str(path)


def test_train_gives_the_weights_of_metta_train(tmp_path, caplog):
    safetensors = pytest.importorskip("safetensors.numpy")
    cli = subprocess.run([metta_cli(), "train", *JOB, f"run_dir={tmp_path / 'cli'}"], capture_output=True,
                         text=True, cwd=tmp_path)
    assert cli.returncode == 0, cli.stderr
    with caplog.at_level(logging.INFO, logger="metta_cpp"):
        result = metta_cpp.train(*JOB, f"run_dir={tmp_path / 'py'}")
    assert result["end"] == "done" and result["run_dir"] == str(tmp_path / "py")
    assert "losses/policy_loss" in result["metrics"] and "env_agent/heart.gained" in result["metrics"]
    logged = [r.getMessage() for r in caplog.records if r.name == "metta_cpp"]

    def shown(line, run_dir):  # a progress line without its speed and time, which differ from run to run
        line = re.sub(r"\s+\d+ sps", " sps", re.sub(r"\| \d+s$", "", line))
        return line.replace(str(run_dir), "RUN")

    assert [shown(x, tmp_path / "py") for x in logged] == [shown(x, tmp_path / "cli") for x in cli.stdout.splitlines()]
    assert sum(x.startswith("epoch") for x in logged) == 3
    names = sorted(os.listdir(tmp_path / "cli" / "checkpoints"))
    assert names == sorted(os.listdir(tmp_path / "py" / "checkpoints")) and "model_0003.safetensors" in names
    for name in names:
        a = safetensors.load_file(tmp_path / "cli" / "checkpoints" / name)
        b = safetensors.load_file(tmp_path / "py" / "checkpoints" / name)
        assert a.keys() == b.keys()
        for key in a:
            assert np.array_equal(a[key], b[key]), f"{name}: {key} differs"


CTRL_C_SCRIPT = """
import logging, sys, metta_cpp
logging.basicConfig(level=logging.INFO, stream=sys.stdout, format="%(message)s")
try:
    metta_cpp.train("agent=small", "trainer.total_timesteps=100000000", "num_envs=8", "run_dir=" + sys.argv[1])
except KeyboardInterrupt as e:
    print("KeyboardInterrupt:", e, flush=True)
    sys.exit(130)
"""


def test_ctrl_c_finishes_the_epoch_saves_and_raises(tmp_path):
    run_dir = tmp_path / "run"
    p = subprocess.Popen([sys.executable, "-c", CTRL_C_SCRIPT, str(run_dir)], stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True, env=dict(os.environ, PYTHONUNBUFFERED="1"))
    lines = []
    for line in p.stdout:  # the first epoch's progress line: the run is training
        lines.append(line)
        if line.startswith("epoch"):
            break
    p.send_signal(signal.SIGINT)
    out, _ = p.communicate(timeout=120)
    lines += out.splitlines(keepends=True)
    text = "".join(lines)
    assert p.returncode == 130, text
    assert "KeyboardInterrupt: metta_cpp.train: stopped" in text and "interrupted" in text
    saved = sorted(n for n in os.listdir(run_dir / "checkpoints") if n.startswith("model_"))
    assert saved, text
    assert f"saved {run_dir / 'checkpoints' / saved[-1]}" in text
    # the run resumes from it, as a CLI run would
    resumed = metta_cpp.train("agent=small", f"trainer.total_timesteps={16384 * (int(saved[-1][6:10]) + 1)}",
                              "num_envs=8", f"run_dir={run_dir}")
    assert resumed["end"] == "done"


def test_a_bad_job_raises_with_the_clis_message(tmp_path):
    with pytest.raises(metta_cpp.ConfigError, match=r"command line: trainer.total_timesteps: got 'many'"):
        metta_cpp.train("trainer.total_timesteps=many", f"run_dir={tmp_path / 'a'}")
    with pytest.raises(metta_cpp.ConfigError, match=r"trainer.ppo.clip_cof"):
        metta_cpp.train("trainer.ppo.clip_cof=0.1", f"run_dir={tmp_path / 'b'}")
    with pytest.raises(metta_cpp.ConfigError, match="missing.yaml: cannot open the config file"):
        metta_cpp.train(config=str(tmp_path / "missing.yaml"))
    metta_cpp.train(*JOB, f"run_dir={tmp_path / 'c'}", "trainer.total_timesteps=100")
    with pytest.raises(metta_cpp.Error, match="existing_run"):  # a finished run is not trained over
        metta_cpp.train(*JOB, f"run_dir={tmp_path / 'c'}", "trainer.total_timesteps=100", "trainer.resume=false")
