"""Run the benchmark: per corpus size, the ingest, retrieval, answer and memory stages."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from assistant.bench.answer import answer_stage, skipped
from assistant.bench.measure import Row
from assistant.bench.memory import memory_stage
from assistant.bench.report import BenchReport
from assistant.bench.stages import ingest_stage, open_workspace, retrieval_stage
from assistant.config import Settings
from assistant.embeddings import LocalEmbeddings, force_offline
from assistant.errors import AssistantError

Echo = Callable[[str], None]


def run_bench(
    sizes: list[int],
    n_questions: int = 3,
    n_queries: int = 100,
    batch: int = 2000,
    llm: bool = True,
    memory: bool = True,
    workdir: Path | None = None,
    settings: Settings | None = None,
    echo: Echo = print,
) -> BenchReport:
    """Measure every stage at every size; the stores live in ``workdir`` (default: a temp folder)."""
    force_offline()
    settings = settings or Settings()
    options = {
        "questions": n_questions,
        "queries": n_queries,
        "ingest_batch": batch,
        "top_k": settings.top_k,
        "embed_batch_size": settings.embed_batch_size,
        "llm": llm,
        "memory": memory,
    }
    report = BenchReport(sizes=sizes, options=options)
    embeddings = LocalEmbeddings(settings.embedding_model_path, settings.embed_batch_size)
    embeddings.model  # noqa: B018  (loaded once, shared by the project and the raw side)
    model: dict[str, Any] = {}

    def chat_model() -> Any:  # loaded once for all sizes
        if "model" not in model:
            from assistant.llm import load_chat_model

            model["model"] = load_chat_model(settings)
        return model["model"]

    root = Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix="assistant-bench-"))
    try:
        for size in sizes:
            folder = root / f"n{size}"
            shutil.rmtree(folder, ignore_errors=True)
            ws = open_workspace(size, folder, settings, embeddings, chat_model)
            report.rows += _run(lambda ws=ws: ingest_stage(ws, batch), echo)
            report.rows += _run(lambda ws=ws: retrieval_stage(ws, n_queries), echo)
            if not llm:
                continue
            try:
                ws.assistant.chain  # noqa: B018
            except AssistantError as err:
                report.rows += [skipped(size, f"model unavailable: {err}"), skipped(size, str(err), "memory")]
                llm = False
                continue
            report.rows += _run(lambda ws=ws: answer_stage(ws, n_questions), echo)
            if memory:
                try:
                    report.rows += _run(lambda ws=ws: memory_stage(ws), echo)
                except (RuntimeError, OSError) as err:  # a server that would not start is a finding
                    report.rows.append(skipped(size, f"serve failed: {err}", "memory"))
    finally:
        if workdir is None:
            shutil.rmtree(root, ignore_errors=True)
    return report


def _run(stage: Callable[[], list[Row]], echo: Echo) -> list[Row]:
    rows = stage()
    for row in rows:
        echo(
            f"  {row.size:,} {row.stage} {row.metric}: project {row.project} {row.unit}"
            + (f", raw {row.raw} {row.unit}, ratio {row.ratio}" if row.raw is not None else "")
            + f" (load {row.load})"
        )
    return rows
