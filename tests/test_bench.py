"""`assistant bench` at toy sizes: real Chroma and embedding model; a scripted server for the answer stage."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from assistant.bench.answer import answer_stage
from assistant.bench.corpus import paragraphs, questions, write_corpus
from assistant.bench.measure import percentile
from assistant.bench.memory import peak_rss_mb
from assistant.bench.report import BenchReport
from assistant.bench.stages import Workspace, ingest_stage, open_workspace, retrieval_stage
from assistant.chunking import split_document
from assistant.cli import main
from assistant.config import Settings
from assistant.embeddings import LocalEmbeddings
from assistant.llm import EmbeddedChatModel, Engine
from assistant.loaders import load_document


def test_corpus_is_deterministic_news_one_chunk_per_paragraph(
    tmp_path: Path, embeddings: LocalEmbeddings
) -> None:
    texts = paragraphs(30)
    assert texts == paragraphs(30) and texts != paragraphs(30, seed=7)
    assert len(set(texts)) == 30 and questions(5) == questions(5)
    files = write_corpus(tmp_path, texts, per_file=10)
    assert len(files) == 3
    chunks = [
        c
        for f in files
        for c in split_document(load_document(f, f.name, 10**6), embeddings.count_tokens, 200)
    ]
    assert [c.text for c in chunks] == texts


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 0.5) == 50.0 and percentile(values, 0.95) == 95.0
    assert percentile([3.0], 0.95) == 3.0


@pytest.fixture
def workspace(tmp_path: Path, settings: Settings, embeddings: LocalEmbeddings) -> Iterator[Workspace]:
    yield open_workspace(50, tmp_path / "bench", settings, embeddings, chat_model=None)


def test_ingest_and_retrieval_stages_measure_both_sides(workspace: Workspace) -> None:
    rows = ingest_stage(workspace, batch=20)  # 30 chunks shared by one embedding pass, 20 timed
    assert workspace.assistant.store.count_chunks() == 50 and workspace.raw.count() == 50
    assert len(workspace.assistant.documents()) == 1 + 2  # base file + the two timed halves
    (ingest,) = rows
    assert ingest.stage == "ingest" and "20 chunks added to a store of 30" in ingest.note
    # ratio = project time / raw time = raw chunks/s / project chunks/s
    assert ingest.ratio == pytest.approx(ingest.raw / ingest.project, rel=0.02)
    rows = retrieval_stage(workspace, n_queries=6)
    metrics = [r.metric for r in rows]
    assert metrics == [
        "vector p50",
        "vector p95",
        "hybrid p50",
        "hybrid p95",
        "first hybrid query after ingest",
    ]
    for row in rows[:4]:
        assert row.project > 0 and row.raw and row.raw > 0
        assert row.ratio == pytest.approx(row.project / row.raw, rel=0.02)
    assert rows[0].project <= rows[1].project and rows[2].project <= rows[3].project
    report = BenchReport(sizes=[50], options={}, rows=rows)
    table = report.table().splitlines()
    assert table[0].startswith("| chunks | stage | metric | project | raw | ratio |")
    assert len(table) == 2 + len(rows)


class ScriptedServer:
    """Stands in for ``xllamacpp.Server``: a fixed answer, with delays long enough to time."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []

    def handle_chat_completions(self, request: dict[str, Any], callback: Any = None) -> Any:
        self.requests.append(request)
        if not request.get("stream"):
            time.sleep(0.01)
            return {"choices": [{"message": {"content": "Ok"}}]}
        time.sleep(0.05)
        callback({"choices": [{"delta": {"role": "assistant", "content": None}}]})
        for word in ("Officials ", "met ", "[1]."):
            if callback({"choices": [{"delta": {"content": word}}]}):
                return None
            time.sleep(0.01)
        return None


def test_answer_stage_sends_the_chains_messages_to_the_raw_call(workspace: Workspace) -> None:
    server = ScriptedServer()
    model = EmbeddedChatModel(engine=Engine(server))
    workspace.assistant._chain = None
    workspace.assistant.chain_factory = _factory_with(workspace, model)
    ingest_stage(workspace, batch=50)
    rows = answer_stage(workspace, n_questions=2)
    assert [r.metric for r in rows] == ["time to first token", "total time"]
    for row in rows:
        assert row.raw is not None and row.raw >= 0.05  # the scripted delay is really measured
        assert row.ratio == pytest.approx(row.project / row.raw, rel=0.02)
    assert "identical output in 2/2" in rows[0].note
    streamed = [r for r in server.requests if r.get("stream")]
    assert len(streamed) == 4  # two questions, project and raw each
    for first, second in (streamed[0:2], streamed[2:4]):
        assert first["messages"] == second["messages"] and first["max_tokens"] == second["max_tokens"]
        assert "Question:" in first["messages"][-1]["content"]
    warm = [r for r in server.requests if r["messages"][-1]["content"] == "Ready?"]
    assert len(warm) == 4 and all(r["id_slot"] == first["id_slot"] for r in warm)  # the slot the chain used
    cuts = [r for r in server.requests if r["messages"][-1]["content"] == ""]
    assert len(cuts) == 2  # the chat model cuts its slot back before each of its own calls
    assert model.engine.server is server  # the recorder was taken out again


def _factory_with(workspace: Workspace, model: EmbeddedChatModel) -> Any:
    from assistant.answering import AnswerStep, TextAnalyser
    from assistant.glossary import Glossary
    from assistant.prompts import load_prompt
    from assistant.rag import ChainSettings, RagChain
    from assistant.sentence_encoder import MiniLMEncoder

    settings = workspace.settings
    prompts = settings.resolved_prompts_dir()

    def make() -> RagChain:
        return RagChain(
            workspace.assistant.retriever,
            model,
            AnswerStep(TextAnalyser(), MiniLMEncoder(workspace.embeddings), Glossary({})),
            load_prompt(prompts, "answer"),
            load_prompt(prompts, "condense"),
            ChainSettings(top_k=settings.top_k, min_relevance=settings.min_relevance),
        )

    return make


def test_peak_rss_reads_proc() -> None:
    assert 10 < peak_rss_mb(os.getpid()) < 64 * 1024


def test_bench_command_prints_the_table_and_writes_json(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    args = ["bench", "--sizes", "20", "--batch", "20", "--queries", "5", "--no-llm", "--json", str(out)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "| 20 | ingest | chunks per second |" in result.output
    data = json.loads(out.read_text())
    assert data["sizes"] == [20] and data["machine"]["cores"] == os.cpu_count()
    stages = [(r["stage"], r["metric"]) for r in data["results"]]
    assert ("ingest", "chunks per second") in stages and ("retrieval", "hybrid p50") in stages
    for row in data["results"]:
        if row["raw"] is not None:
            assert row["ratio"] > 0 and row["passed"] in (True, False)
            assert row["load"] >= 0


def test_bench_command_refuses_bad_sizes() -> None:
    result = CliRunner().invoke(main, ["bench", "--sizes", "ten"])
    assert result.exit_code == 2 and "chunk counts separated by commas" in result.output
