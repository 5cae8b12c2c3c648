"""Small measuring helpers and the result rows of the benchmark."""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..1) of a non-empty list."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def load_average() -> float:
    """The 1-minute load average: other work on the machine skews every figure, so each row records it."""
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:  # pragma: no cover - not on Linux
        return -1.0


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = fn()
    return time.perf_counter() - started, result


@dataclass
class Row:
    """One figure: the project's, the raw libraries' for the same work, and project time / raw time."""

    size: int
    stage: str  # ingest | retrieval | answer | memory
    metric: str
    unit: str
    project: float
    raw: float | None = None
    ratio: float | None = None  # project time / raw time (1.0 = no overhead)
    ratio_limit: float | None = None  # the largest ratio allowed
    value_limit: float | None = None  # the largest project figure allowed (latency or memory targets)
    load: float = field(default_factory=load_average)
    note: str = ""

    @property
    def passed(self) -> bool | None:
        """Whether the row meets its targets (None when it has none)."""
        checks = []
        if self.ratio_limit is not None and self.ratio is not None:
            checks.append(self.ratio <= self.ratio_limit)
        if self.value_limit is not None:
            checks.append(self.project <= self.value_limit)
        return all(checks) if checks else None

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "passed": self.passed}


def ratio(project_seconds: float, raw_seconds: float) -> float:
    return round(project_seconds / raw_seconds, 3) if raw_seconds > 0 else float("inf")
