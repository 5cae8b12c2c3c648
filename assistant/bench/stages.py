"""The ingest and retrieval stages: the project's code and the raw libraries on the same chunks and queries.

Ingest at size N: a store is first filled with N - B chunks by one embedding pass shared by both sides
(unmeasured), then the last B chunks (``batch``, 2,000 by default; all N when N <= B) go through both
paths, in the order project, raw, raw, project over two halves so a change in machine load hits both alike:

* project: ``Assistant.ingest`` on the batch's files (load, hash, split, count tokens, manifest, one embedding
  pass and one upsert per ~512 chunks of documents): the `assistant ingest` machinery;
* raw: ``SentenceTransformer.encode`` of the same chunk texts (same batch size) and ``collection.add`` of
  the same ids, texts and metadata into a second collection that holds the same number of chunks.

Retrieval at N: the project's ``Retriever`` (vector-only and hybrid) against a raw query embedding plus
``collection.query`` on the same N-chunk collection, interleaved query by query.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from assistant.bench.corpus import paragraphs, questions, write_corpus
from assistant.bench.measure import Row, percentile, ratio, timed
from assistant.chunking import split_document
from assistant.config import Settings
from assistant.embeddings import LocalEmbeddings
from assistant.factory import build_assistant
from assistant.loaders import load_document
from assistant.retrieval import _CANDIDATES, Retriever
from assistant.service import Assistant
from assistant.store import MAX_BATCH
from assistant.types import Chunk, DocumentInfo

RAW_COLLECTION = "bench-raw"
PER_FILE = 50  # paragraphs (chunks) per generated document


def ratio_limit(size: int) -> float:
    """Every ratio must be <= 1.1; at 1,000 chunks, where fixed costs weigh most, <= 1.2."""
    return 1.2 if size <= 1000 else 1.1


@dataclass
class Workspace:
    """One corpus size: the project's assistant on its index, and the raw collection beside it."""

    size: int
    root: Path
    settings: Settings
    assistant: Assistant
    raw: Any  # chromadb collection filled by the raw path

    @property
    def embeddings(self) -> LocalEmbeddings:
        return self.assistant.embeddings


def open_workspace(
    size: int,
    root: Path,
    base_settings: Settings,
    embeddings: LocalEmbeddings,
    chat_model: Callable[[], Any] | None,
) -> Workspace:
    # the English index against raw sentence-transformers + Chroma, like for like (the multilingual index's
    # cost is measured by benchmarks/multilingual_ingest.py)
    settings = base_settings.model_copy(
        update={
            "corpus_dir": root / "corpus",
            "data_dir": root / "data",
            "hybrid": True,
            "multilingual_index": False,
        }
    )
    assistant = build_assistant(settings, chat_model=chat_model, embeddings=embeddings)
    assistant.store.reset()
    client = assistant.store.client
    if RAW_COLLECTION in {c if isinstance(c, str) else c.name for c in client.list_collections()}:
        client.delete_collection(RAW_COLLECTION)
    raw = client.create_collection(RAW_COLLECTION, metadata={"hnsw:space": "cosine"}, embedding_function=None)
    return Workspace(size, root, settings, assistant, raw)


def _chunks_of(ws: Workspace, files: list[Path]) -> list[tuple[DocumentInfo, list[Chunk]]]:
    """The documents and chunks the project makes of ``files`` (as `assistant ingest` would)."""
    ingestor, out = ws.assistant.ingestor, []
    for path in files:
        doc = load_document(path, ingestor.source_for(path), ingestor.max_bytes)
        chunks = split_document(doc, ws.embeddings.count_tokens, ingestor.max_tokens)
        info = DocumentInfo(doc.source, doc.title, len(chunks), doc.content_hash, "2026-01-01T00:00:00", 0)
        out.append((info, chunks))
    return out


def _raw_add(collection: Any, chunks: list[Chunk], vectors: np.ndarray) -> None:
    for i in range(0, len(chunks), MAX_BATCH):
        part = chunks[i : i + MAX_BATCH]
        collection.add(
            ids=[c.id for c in part],
            documents=[c.text for c in part],
            metadatas=[c.metadata() for c in part],
            embeddings=vectors[i : i + MAX_BATCH],
        )


def _raw_encode(ws: Workspace, texts: list[str]) -> np.ndarray:
    return ws.embeddings.model.encode(
        texts,
        batch_size=ws.settings.embed_batch_size,
        normalize_embeddings=True,
        convert_to_numpy=True,
        show_progress_bar=False,
    )


def fill_base(ws: Workspace, files: list[Path]) -> None:
    """Put ``files`` into both stores with one embedding pass (unmeasured): the N - B chunks already there."""
    docs = _chunks_of(ws, files)
    chunks = [c for _, doc_chunks in docs for c in doc_chunks]
    vectors = np.zeros((len(chunks), ws.embeddings.dimensions), dtype=np.float32)
    step = 1024
    with tqdm(total=len(chunks), desc=f"{ws.size:,}: embedding the base store once", unit="chunk") as bar:
        for i in range(0, len(chunks), step):
            vectors[i : i + step] = _raw_encode(ws, [c.text for c in chunks[i : i + step]])
            bar.update(len(chunks[i : i + step]))
    ws.assistant.store.upsert(chunks, vectors)
    ws.assistant.store.put_documents([info for info, _ in docs], state="ready")
    _raw_add(ws.raw, chunks, vectors)
    ws.assistant.ingestor.generation += 1


def ingest_stage(ws: Workspace, batch: int) -> list[Row]:
    """Fill the store to ``ws.size`` chunks; measure the last ``min(batch, size)`` through both paths."""
    texts = paragraphs(ws.size)
    measured = min(batch, ws.size)
    corpus = ws.settings.corpus_dir
    base_files = write_corpus(corpus / "base", texts[: ws.size - measured], PER_FILE, "base")
    if base_files:
        fill_base(ws, base_files)
    half = measured // 2
    new = texts[ws.size - measured :]
    halves = [
        write_corpus(corpus / "new-a", new[:half], PER_FILE, "a"),
        write_corpus(corpus / "new-b", new[half:], PER_FILE, "b"),
    ]
    raw_chunks = [[c for _, cs in _chunks_of(ws, files) for c in cs] for files in halves]
    _raw_encode(ws, paragraphs(64, seed=5))  # the first large batches run slower: neither side pays for it
    project_s = raw_s = 0.0
    with tqdm(total=2 * measured, desc=f"{ws.size:,}: ingest, project and raw", unit="chunk") as bar:
        for part, first in ((0, "project"), (1, "raw")):  # project, raw, raw, project
            for side in (first, "raw" if first == "project" else "project"):
                chunks = raw_chunks[part]
                if side == "project":
                    seconds, report = timed(lambda p=part: ws.assistant.ingest([corpus / f"new-{'ab'[p]}"]))
                    if report.chunks_written != len(chunks) or report.failures():
                        raise RuntimeError(f"benchmark ingest went wrong: {report.summary()}")
                    project_s += seconds
                else:
                    seconds, _ = timed(
                        lambda c=chunks: _raw_add(ws.raw, c, _raw_encode(ws, [x.text for x in c]))
                    )
                    raw_s += seconds
                bar.update(len(chunks))
    stored, raw_stored = ws.assistant.store.count_chunks(), ws.raw.count()
    if stored != ws.size or raw_stored != ws.size:
        raise RuntimeError(f"expected {ws.size} chunks in both stores, found {stored} and {raw_stored}")
    note = (
        f"{measured:,} chunks added to a store of {ws.size - measured:,}"
        if measured < ws.size
        else f"all {measured:,} chunks into an empty store"
    )
    return [
        Row(
            ws.size,
            "ingest",
            "chunks per second",
            "chunks/s",
            round(measured / project_s, 1),
            round(measured / raw_s, 1),
            ratio(project_s, raw_s),
            ratio_limit(ws.size),
            note=note,
        )
    ]


def retrieval_stage(ws: Workspace, n_queries: int) -> list[Row]:
    """p50/p95 of the project's retriever (vector-only, hybrid) against raw embed + collection.query."""
    assistant, k = ws.assistant, ws.settings.top_k
    version = lambda: assistant.ingestor.generation  # noqa: E731
    vector = Retriever(assistant.store, ws.embeddings, False, version, assistant.retriever.glossary)
    hybrid = Retriever(assistant.store, ws.embeddings, True, version, assistant.retriever.glossary)
    collection, model = assistant.store.chunks, ws.embeddings.model

    def raw(query: str, n: int) -> Any:
        embedded = model.encode([query], normalize_embeddings=True, convert_to_numpy=True)
        return collection.query(
            query_embeddings=embedded, n_results=n, include=["documents", "metadatas", "distances"]
        )

    queries = questions(n_queries)
    refresh_s, _ = timed(lambda: hybrid.retrieve(queries[0], k))  # builds the keyword index after ingest
    paths: dict[str, Callable[[str], Any]] = {
        "vector": lambda q: vector.retrieve(q, k),
        "raw vector": lambda q: raw(q, k),
        "hybrid": lambda q: hybrid.retrieve(q, k),
        "raw hybrid": lambda q: raw(q, max(k, _CANDIDATES)),
    }
    for query in queries[:5]:  # warm-up
        for fn in paths.values():
            fn(query)
    times: dict[str, list[float]] = {name: [] for name in paths}
    order = list(paths)
    for i, query in enumerate(tqdm(queries, desc=f"{ws.size:,}: retrieval", unit="query")):
        for name in order if i % 2 == 0 else reversed(order):
            times[name].append(timed(lambda fn=paths[name], q=query: fn(q))[0] * 1000)
    rows = []
    for name, note in (
        ("vector", f"k={k}"),
        ("hybrid", f"k={k}; raw = the dense part of the same work (n_results={max(k, _CANDIDATES)})"),
    ):
        for label, q in (("p50", 0.5), ("p95", 0.95)):
            mine, theirs = percentile(times[name], q), percentile(times[f"raw {name}"], q)
            rows.append(
                Row(
                    ws.size,
                    "retrieval",
                    f"{name} {label}",
                    "ms",
                    round(mine, 2),
                    round(theirs, 2),
                    ratio(mine, theirs),
                    ratio_limit(ws.size),
                    value_limit=30.0 if label == "p50" and ws.size >= 100_000 else None,
                    note=note,
                )
            )
    rows.append(
        Row(
            ws.size,
            "retrieval",
            "first hybrid query after ingest",
            "ms",
            round(refresh_s * 1000, 1),
            note="includes (re)building the BM25 keyword index; no raw counterpart",
        )
    )
    return rows
