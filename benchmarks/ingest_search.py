"""Ingest throughput and search latency of the project, next to the raw libraries doing the same work.

    .venv/bin/python benchmarks/ingest_search.py [--chunks 2000] [--queries 100]

Prints chunks/s for `assistant ingest` machinery vs raw SentenceTransformer.encode + collection.add, and
p50/p95 search latency of the project's retriever (vector-only and hybrid) vs raw embed + collection.query.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from pathlib import Path

import chromadb
from chromadb.config import Settings as ChromaSettings

from assistant.config import Settings
from assistant.embeddings import LocalEmbeddings
from assistant.factory import build_assistant

SUBJECTS = ["Officials", "The delegation", "Trade ministers", "Defense planners", "Energy negotiators"]
VERBS = ["reviewed", "debated", "outlined", "postponed", "welcomed"]
TOPICS = [
    "semiconductor supply chains",
    "LNG export terminals",
    "joint naval exercises",
    "tariff schedules",
    "factory investment in Ohio",
    "space cooperation",
    "cybersecurity drills",
    "shipbuilding capacity",
]


def paragraph(rng: random.Random, i: int) -> str:
    sentences = [
        f"{rng.choice(SUBJECTS)} {rng.choice(VERBS)} {rng.choice(TOPICS)} in session {i}.",
        f"They noted that {rng.choice(TOPICS)} and {rng.choice(TOPICS)} would need further talks.",
        f"A follow-up on {rng.choice(TOPICS)} is planned for item {i * 7 % 1000}.",
    ]
    return " ".join(sentences)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--chunks", type=int, default=2000)
    parser.add_argument("--queries", type=int, default=100)
    args = parser.parse_args()
    rng = random.Random(7)
    paragraphs = [paragraph(rng, i) for i in range(args.chunks)]
    queries = [f"What was said about {rng.choice(TOPICS)}?" for _ in range(args.queries)]
    embeddings = LocalEmbeddings()
    embeddings.model  # noqa: B018
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        corpus = root / "corpus"
        corpus.mkdir()
        per_file = 100
        for f in range(0, len(paragraphs), per_file):
            (corpus / f"doc-{f // per_file:04d}.md").write_text("\n\n".join(paragraphs[f : f + per_file]))
        settings = Settings(corpus_dir=corpus, data_dir=root / "data")
        assistant = build_assistant(settings, chat_model=lambda: None, embeddings=embeddings)  # type: ignore[arg-type,return-value]
        started = time.perf_counter()
        report = assistant.ingest()
        project_ingest = time.perf_counter() - started
        assert report.chunks_written == len(paragraphs), report.summary()

        client = chromadb.PersistentClient(str(root / "raw"), ChromaSettings(anonymized_telemetry=False))
        collection = client.create_collection(
            "raw", metadata={"hnsw:space": "cosine"}, embedding_function=None
        )
        started = time.perf_counter()
        vectors = embeddings.model.encode(paragraphs, batch_size=32, normalize_embeddings=True)
        for i in range(0, len(paragraphs), 5000):
            collection.add(
                ids=[str(j) for j in range(i, min(i + 5000, len(paragraphs)))],
                documents=paragraphs[i : i + 5000],
                embeddings=vectors[i : i + 5000].tolist(),
            )
        raw_ingest = time.perf_counter() - started

        def timed(fn) -> list[float]:  # type: ignore[no-untyped-def]
            out = []
            for q in queries:
                t = time.perf_counter()
                fn(q)
                out.append((time.perf_counter() - t) * 1000)
            return out

        raw = timed(lambda q: collection.query(query_embeddings=[embeddings.embed_query(q)], n_results=4))
        assistant.retriever.hybrid = False
        vector = timed(lambda q: assistant.search(q, 4))
        assistant.retriever.hybrid = True
        assistant.search("warm the keyword index", 4)
        hybrid = timed(lambda q: assistant.search(q, 4))

    n = len(paragraphs)
    print(f"chunks: {n}")
    print(
        f"ingest  project {n / project_ingest:7.1f} chunks/s   raw {n / raw_ingest:7.1f} chunks/s   "
        f"ratio {project_ingest / raw_ingest:.2f}"
    )
    raw_p50 = statistics.median(raw)
    for name, values in (("vector", vector), ("hybrid", hybrid)):
        p50, p95 = statistics.median(values), percentile(values, 0.95)
        print(
            f"search  {name:<7} p50 {p50:6.1f} ms  p95 {p95:6.1f} ms   "
            f"raw p50 {raw_p50:6.1f} ms  ratio {p50 / raw_p50:.2f}"
        )


if __name__ == "__main__":
    main()
