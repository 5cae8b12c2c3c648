"""The benchmark report: machine, settings, rows; as a table for people and as JSON."""

from __future__ import annotations

import json
import math
import os
import platform
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from assistant.bench.measure import Row

METHOD = (
    "ratio = project time / raw time for identical work in the same run (1.0 = no overhead). "
    "ingest: at N chunks, the last min(N, batch) chunks go through both paths (project: Assistant.ingest on "
    "their files; raw: SentenceTransformer.encode + collection.add of the same chunk texts, ids and "
    "metadata, "
    "same batch size) into stores that already hold the other chunks, built once by one embedding pass "
    "shared by both; order project, raw, raw, project over two halves. retrieval: project Retriever vs raw "
    "query embedding + collection.query on the same N-chunk collection, same k (hybrid: raw fetches the "
    "same 20 dense candidates), interleaved per query. answer: RagChain on EmbeddedChatModel vs raw "
    "xllamacpp Server.handle_chat_completions(stream=True) with the request captured from the chain, same "
    "server, alternating order, both after evaluating the same fixed prefix. memory: VmHWM of an "
    "`assistant serve` process after a few answers. `load` is the 1-minute load average when the row was "
    "measured (2 shared cores: other work inflates times)."
)


def machine() -> dict[str, Any]:
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:  # pragma: no cover - not Linux
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "system": f"{platform.system()} {platform.release()}",
    }


@dataclass
class BenchReport:
    sizes: list[int]
    options: dict[str, Any]
    rows: list[Row] = field(default_factory=list)
    machine: dict[str, Any] = field(default_factory=machine)
    started_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))

    @property
    def passed(self) -> bool:
        return all(row.passed is not False for row in self.rows)

    def failures(self) -> list[Row]:
        return [row for row in self.rows if row.passed is False]

    def to_dict(self) -> dict[str, Any]:
        return {
            "started_at": self.started_at,
            "machine": self.machine,
            "sizes": self.sizes,
            "options": self.options,
            "method": METHOD,
            "targets": {
                "ratio": "<= 1.1 (<= 1.2 at 1,000 chunks)",
                "retrieval p50 at 100k chunks": "< 30 ms",
                "serve peak RSS": "< 3 GB",
            },
            "passed": self.passed,
            "results": [_clean(row.to_dict()) for row in self.rows],
        }

    def write_json(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_dict(), indent=2) + "\n", encoding="utf-8")

    def table(self) -> str:
        """A Markdown table (it reads well in a terminal and pastes into the README)."""
        head = "| chunks | stage | metric | project | raw | ratio | target | load |"
        lines = [head, "|---:|---|---|---:|---:|---:|---|---:|"]
        for row in self.rows:
            lines.append(
                f"| {row.size:,} | {row.stage} | {row.metric} | {_figure(row.project, row.unit)} | "
                f"{_figure(row.raw, row.unit)} | {_ratio(row.ratio)} | {_target(row)} | {row.load:.1f} |"
            )
        return "\n".join(lines)


def _clean(values: dict[str, Any]) -> dict[str, Any]:
    """JSON has no NaN: a skipped figure is null."""
    return {k: None if isinstance(v, float) and math.isnan(v) else v for k, v in values.items()}


def _figure(value: float | None, unit: str) -> str:
    if value is None or math.isnan(value):
        return "–"
    return f"{value:,.1f} {unit}" if value >= 100 else f"{value:.3g} {unit}"


def _ratio(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"


def _target(row: Row) -> str:
    parts = []
    if row.ratio_limit is not None and row.ratio is not None:
        parts.append(f"ratio ≤ {row.ratio_limit}")
    if row.value_limit is not None:
        parts.append(f"≤ {row.value_limit:g} {row.unit}")
    if row.metric == "skipped":
        return f"skipped: {row.note}"
    if not parts:
        return ""
    return " and ".join(parts) + (" ✓" if row.passed else " ✗")
