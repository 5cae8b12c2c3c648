"""What the hybrid retriever adds on top of the raw Chroma query, on an existing store, and whether the
current code still returns exactly what the previous implementation returned.

    .venv/bin/python benchmarks/retrieval_overhead.py --root FOLDER [--build N] [--embed] [--rounds 3]

``FOLDER`` holds a store laid out as `assistant bench` leaves it (``FOLDER/corpus``, ``FOLDER/data``; the
bench's ``--workdir W`` gives ``W/n10000`` and so on). ``--build N`` first fills it with the bench's first N
generated paragraphs (one embedding pass, unmeasured). Without ``--embed`` the queries are embedded once up
front and every path gets the same fixed vectors, so the figures are what our code adds to Chroma; with
``--embed`` every call embeds its query, as `assistant bench` and a user's question do.

Paths, interleaved query by query (order reversed on every other query so a change in load hits all alike):

* raw: ``collection.query`` of the hybrid's dense candidates (20), documents, metadatas and distances;
* previous: the hybrid retriever as it was before it fetched texts for the winners only (Chroma returned
  texts and metadata of all 20 candidates, all 20 became passages, a list of floats went to Chroma),
  copied below;
* current: ``Retriever.retrieve_embedded`` (``Retriever.retrieve`` with ``--embed``);
* raw vector / vector: the same for vector-only retrieval of ``top_k``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from assistant.bench.corpus import paragraphs, questions, write_corpus
from assistant.config import Settings
from assistant.embeddings import LocalEmbeddings, force_offline
from assistant.factory import build_assistant
from assistant.retrieval import _CANDIDATES, _RRF_K, Retriever
from assistant.service import Assistant
from assistant.store import to_passage
from assistant.types import Passage


def previous_hybrid(retriever: Retriever, query: str, vector: list[float], k: int) -> list[Passage]:
    """The hybrid branch of ``Retriever.retrieve`` before this change, verbatim but for the embedding."""
    store = retriever.store
    got = store.chunks.query(
        query_embeddings=[list(vector)],
        n_results=max(k, _CANDIDATES),
        include=["documents", "metadatas", "distances"],
    )
    dense = [
        to_passage(chunk_id, text, meta, 1.0 - float(distance))
        for chunk_id, text, meta, distance in zip(
            got["ids"][0], got["documents"][0], got["metadatas"][0], got["distances"][0], strict=True
        )
    ]
    sparse = retriever.keyword_index().search(query, max(k, _CANDIDATES))
    fused: dict[str, float] = defaultdict(float)
    for rank, passage in enumerate(dense):
        fused[passage.chunk_id] += 1.0 / (_RRF_K + rank + 1)
    for rank, (chunk_id, _) in enumerate(sparse):
        fused[chunk_id] += 1.0 / (_RRF_K + rank + 1)
    chosen = sorted(fused, key=lambda cid: -fused[cid])[:k]
    known = {p.chunk_id: p for p in dense}
    missing = [cid for cid in chosen if cid not in known]
    if missing:
        got = store.chunks.get(ids=missing, include=["documents", "metadatas", "embeddings"])
        q = np.asarray(vector)
        for cid, text, meta, embedding in zip(
            got["ids"], got["documents"], got["metadatas"], got["embeddings"], strict=True
        ):
            known[cid] = to_passage(cid, text, meta, float(np.dot(np.asarray(embedding), q)))
    return [known[cid] for cid in chosen if cid in known]


def open_store(root: Path, build: int, embeddings: LocalEmbeddings) -> Assistant:
    settings = Settings().model_copy(
        update={"corpus_dir": root / "corpus", "data_dir": root / "data", "hybrid": True}
    )
    assistant = build_assistant(settings, chat_model=None, embeddings=embeddings)
    if build and assistant.store.count_chunks() != build:
        from assistant.bench.stages import fill_base, open_workspace

        ws = open_workspace(build, root, Settings(), embeddings, None)
        fill_base(ws, write_corpus(root / "corpus" / "base", paragraphs(build), 50, "base"))
        assistant = ws.assistant
    return assistant


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path, required=True)
    parser.add_argument("--build", type=int, default=0, help="fill the store with N generated chunks first")
    parser.add_argument("--embed", action="store_true", help="embed every query on every call")
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3, help="passes over the queries")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    force_offline()
    settings = Settings()
    embeddings = LocalEmbeddings(settings.embedding_model_path, settings.embed_batch_size)
    assistant = open_store(args.root, args.build, embeddings)
    size, k = assistant.store.count_chunks(), settings.top_k
    glossary = assistant.retriever.glossary
    hybrid = Retriever(assistant.store, embeddings, True, lambda: 0, glossary)
    vector_only = Retriever(assistant.store, embeddings, False, lambda: 0, glossary)
    collection = assistant.store.chunks
    queries = [glossary.expand(q) for q in questions(args.queries)]
    vectors = {q: embeddings.encode([q])[0] for q in queries}
    started = time.perf_counter()
    hybrid.keyword_index()
    index_s = time.perf_counter() - started

    def vec(q: str) -> np.ndarray:
        return embeddings.encode([q])[0] if args.embed else vectors[q]

    def raw(q: str, n: int) -> Any:
        return collection.query(
            query_embeddings=vec(q).reshape(1, -1),
            n_results=n,
            include=["documents", "metadatas", "distances"],
        )

    current: Callable[[Retriever, str], list[Passage]]
    if args.embed:
        current = lambda r, q: r.retrieve(q, k)  # noqa: E731  (the glossary leaves expanded queries alone)
    else:
        current = lambda r, q: r.retrieve_embedded(q, vectors[q], k)  # noqa: E731
    paths: dict[str, Callable[[str], Any]] = {
        "raw hybrid": lambda q: raw(q, max(k, _CANDIDATES)),
        "previous hybrid": lambda q: previous_hybrid(hybrid, q, vec(q).tolist(), k),
        "hybrid": lambda q: current(hybrid, q),
        "raw vector": lambda q: raw(q, k),
        "vector": lambda q: current(vector_only, q),
    }
    same = 0
    for q in queries:  # warm-up, and the check that matters: the same passages, scores and order
        new, old = paths["hybrid"](q), previous_hybrid(hybrid, q, vectors[q].tolist(), k)
        same += new == old
    times: dict[str, list[float]] = {name: [] for name in paths}
    order = list(paths)
    loads = [os.getloadavg()[0]]
    for r in range(args.rounds):
        for i, q in enumerate(queries):
            for name in order if (i + r) % 2 == 0 else reversed(order):
                t = time.perf_counter()
                paths[name](q)
                times[name].append((time.perf_counter() - t) * 1000)
        loads.append(os.getloadavg()[0])
    p50 = {name: statistics.median(v) for name, v in times.items()}
    p95 = {name: float(np.percentile(v, 95)) for name, v in times.items()}
    result = {
        "chunks": size,
        "top_k": k,
        "embed": args.embed,
        "calls_per_path": len(queries) * args.rounds,
        "identical_to_previous": f"{same}/{len(queries)}",
        "keyword_index_build_s": round(index_s, 2),
        "load_1min": [round(x, 2) for x in loads],
        "p50_ms": {n: round(v, 3) for n, v in p50.items()},
        "p95_ms": {n: round(v, 3) for n, v in p95.items()},
        "added_p50_ms": {
            "previous hybrid": round(p50["previous hybrid"] - p50["raw hybrid"], 3),
            "hybrid": round(p50["hybrid"] - p50["raw hybrid"], 3),
            "vector": round(p50["vector"] - p50["raw vector"], 3),
        },
    }
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
