"""A run's metrics: one JSON object per line in ``RUN/metrics.jsonl``, and TensorBoard when installed.

Every long job (``train``, ``rl``) writes its numbers through :class:`MetricsLog`, so one
reader (``util.files.read_jsonl``) and one plotting script serve them all. Each line is
``{"step": N, "time": unix seconds, ...values}``, appended and fsynced; a crash can tear
only the last line, which readers skip.
"""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Optional

from gopolicy.util.files import append_jsonl, read_jsonl, write_bytes_atomic

FILE_NAME = "metrics.jsonl"


class MetricsLog:
    """Appends metrics for ``run_dir``; ``enabled=False`` (a non-main DDP rank) writes nothing."""

    def __init__(self, run_dir: Path, enabled: bool = True, tensorboard: bool = True) -> None:
        self.path = Path(run_dir) / FILE_NAME
        self.enabled = enabled
        self._tensorboard: Any = None
        if enabled and tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter
            except ImportError:  # tensorboard is optional
                pass
            else:
                self._tensorboard = SummaryWriter(str(Path(run_dir) / "tensorboard"))

    def write(self, step: int, values: dict) -> None:
        """One line ``{"step", "time", **values}``; the numeric values also go to TensorBoard."""
        if not self.enabled:
            return
        append_jsonl(self.path, {"step": step, "time": round(time.time(), 1), **values})
        if self._tensorboard is not None:
            for key, value in values.items():
                if isinstance(value, (int, float)) and not isinstance(value, bool):
                    self._tensorboard.add_scalar(key, value, step)

    def truncate_after(self, step: int) -> None:
        """Drops the lines of steps after ``step``: on resume, a run killed after its last
        checkpoint would otherwise log those steps twice."""
        if not self.enabled or not self.path.exists():
            return
        kept = [r for r in read_jsonl(self.path) if r.get("step", 0) <= step]
        write_bytes_atomic(self.path, "".join(json.dumps(r, separators=(",", ":")) + "\n" for r in kept).encode())

    def close(self) -> None:
        if self._tensorboard is not None:
            self._tensorboard.close()
            self._tensorboard = None

    def __enter__(self) -> "MetricsLog":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def steady_speed(run_dir: Path, key: str = "positions_per_s") -> Optional[float]:
    """The mean of a run's logged speeds, its first window (which holds the start-up) left out;
    that window alone if it is the only one; None if the run logged none."""
    rates = [r[key] for r in read_jsonl(Path(run_dir) / FILE_NAME) if key in r]
    return sum(rates[1:]) / len(rates[1:]) if len(rates) > 1 else (rates[0] if rates else None)
