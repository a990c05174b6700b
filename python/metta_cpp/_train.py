"""metta_cpp.train: the whole `metta train` job from Python, run by the same C++ run object (train::Run)."""
from __future__ import annotations

import logging
from typing import Any, Dict, Optional

from . import _core

logger = logging.getLogger("metta_cpp")


def train(*overrides: str, config: Optional[str] = None) -> Dict[str, Any]:
    """Runs `metta train [--config config] overrides...`: configs/train_job.yaml (or the file `config`) with
    Hydra-style overrides ("agent=small", "trainer.total_timesteps=200000", "run_dir=/tmp/run", ...). The
    same job and seed give the same weights as the CLI. Progress lines go to the "metta_cpp" logger (INFO).

    Ctrl-C stops it as it stops the CLI: the epoch under way is finished, the next one is the last (it is
    evaluated and saved), then KeyboardInterrupt is raised; a second Ctrl-C raises at once (the previous
    checkpoint stays loadable: files are written atomically).
    Returns {"run_dir", "end" ("done" or "out_of_time"), "metrics" (the last epoch's metrics line)}.
    """
    run = _core.TrainRunCore(config or "", [str(o) for o in overrides])
    run_dir = run.run_dir
    stop = False

    def flush() -> None:
        for line in run.take_lines():
            logger.info("%s", line)

    while True:
        try:
            flush()
            if run.finished():
                break
            run.run_epoch(stop)
        except KeyboardInterrupt:
            if stop:
                raise
            stop = True
            logger.warning("interrupted: the next epoch is the last; it is saved (Ctrl-C again stops at once)")
    metrics = run.last_metrics()
    end = run.close()
    flush()
    if stop:
        raise KeyboardInterrupt(f"metta_cpp.train: stopped, the last epoch saved in {run_dir}")
    return {"run_dir": run_dir, "end": end, "metrics": metrics}
