"""The BM25 keyword index: the numpy-built index ranks exactly as the original per-term loop did, and the
retriever's index follows ingests and removals without re-reading unchanged chunks."""

from __future__ import annotations

import math
import shutil
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
import pytest

from assistant.bench.corpus import paragraphs, questions, write_corpus
from assistant.chunking import paragraph_spans
from assistant.retrieval import (
    _CANDIDATES,
    _RRF_K,
    KeywordIndex,
    Retriever,
    _with_firsts,
    terms,
    top_positive,
)
from assistant.store import to_passage
from assistant.types import Passage
from tests.conftest import ROOT, SEED, AssistantFactory


class ReferenceBM25:
    """The index as it was before it was optimised: Counter per chunk, full argsort per query."""

    def __init__(self, ids: list[str], texts: list[str], k1: float = 1.5, b: float = 0.75) -> None:
        self.ids, self.k1, self.b = ids, k1, b
        postings: dict[str, list[tuple[int, int]]] = defaultdict(list)
        lengths = np.zeros(len(texts), dtype=np.float32)
        for doc, text in enumerate(texts):
            counts = Counter(terms(text))
            lengths[doc] = sum(counts.values())
            for term, tf in counts.items():
                postings[term].append((doc, tf))
        self.lengths, self.avg_length = lengths, float(lengths.mean())
        self.postings = {
            t: (np.array([d for d, _ in p], dtype=np.int64), np.array([f for _, f in p], dtype=np.float32))
            for t, p in postings.items()
        }

    def search(self, query: str, k: int) -> list[tuple[str, float]]:
        scores = np.zeros(len(self.ids), dtype=np.float32)
        n = len(self.ids)
        for term in set(terms(query)):
            if term not in self.postings:
                continue
            docs, tf = self.postings[term]
            idf = math.log(1 + (n - len(docs) + 0.5) / (len(docs) + 0.5))
            norm = self.k1 * (1 - self.b + self.b * self.lengths[docs] / max(self.avg_length, 1e-9))
            scores[docs] += idf * tf * (self.k1 + 1) / (tf + norm)
        top = np.argsort(-scores)[:k]
        return [(self.ids[i], float(scores[i])) for i in top if scores[i] > 0]


def reference_hybrid(retriever: Retriever, query: str, k: int) -> list[Passage]:
    """The hybrid retriever as it was before it built passages only for the winners: every dense
    candidate made a passage, keyword-only winners fetched and scored by their stored vectors."""
    query = retriever.glossary.expand(query)
    vector = retriever.embeddings.embed_query(query)
    n = max(k, _CANDIDATES)
    got = retriever.store.chunks.query(
        query_embeddings=[list(vector)], n_results=n, include=["documents", "metadatas", "distances"]
    )
    dense = [
        to_passage(cid, text, meta, 1.0 - float(distance))
        for cid, text, meta, distance in zip(
            got["ids"][0], got["documents"][0], got["metadatas"][0], got["distances"][0], strict=True
        )
    ]
    fused: dict[str, float] = defaultdict(float)
    for rank, passage in enumerate(dense):
        fused[passage.chunk_id] += 1.0 / (_RRF_K + rank + 1)
    for rank, (cid, _) in enumerate(retriever.keyword_index().search(query, n)):
        fused[cid] += 1.0 / (_RRF_K + rank + 1)
    chosen = sorted(fused, key=lambda cid: -fused[cid])[:k]
    known = {p.chunk_id: p for p in dense}
    missing = [cid for cid in chosen if cid not in known]
    if missing:
        got = retriever.store.chunks.get(ids=missing, include=["documents", "metadatas", "embeddings"])
        for cid, text, meta, embedding in zip(
            got["ids"], got["documents"], got["metadatas"], got["embeddings"], strict=True
        ):
            known[cid] = to_passage(cid, text, meta, float(np.dot(np.asarray(embedding), np.asarray(vector))))
    return [known[cid] for cid in chosen if cid in known]


def _same_ranking(got: list[tuple[str, float]], want: list[tuple[str, float]]) -> None:
    """Same scores in the same order; the same chunks at every score (ties may come in any order)."""
    assert [s for _, s in got] == [s for _, s in want]
    boundary = want[-1][1] if want else None
    by_score: dict[float, set[str]] = defaultdict(set)
    for cid, score in want:
        by_score[score].add(cid)
    for score, ids in by_score.items():
        mine = {cid for cid, s in got if s == score}
        if score == boundary:  # which of several tied chunks makes the cut was never defined
            assert len(mine) == len(ids)
        else:
            assert mine == ids


@pytest.mark.parametrize("corpus", ["seed article", "generated news"])
def test_index_ranks_exactly_as_the_reference(corpus: str) -> None:
    if corpus == "seed article":
        text = SEED.read_text(encoding="utf-8")
        texts = [text[a:b] for a, b in paragraph_spans(text)]
        queries = [
            "Which technologies were named for joint ventures?",
            "What did Ishiba say about tariffs and investment?",
            "LNG exports Alaska energy",
            "former prime minister Abe relationship",
            "nothing matches xylophone",
        ]
    else:
        texts, queries = paragraphs(600), questions(40)
    ids = [f"c{i}" for i in range(len(texts))]
    mine, reference = KeywordIndex(ids, texts), ReferenceBM25(ids, texts)
    for query in queries:
        for k in (1, 4, 20):
            _same_ranking(mine.search(query, k), reference.search(query, k))


def test_top_positive_breaks_ties_by_position_and_drops_zeros() -> None:
    scores = np.array([0.0, 2.0, 1.0, 2.0, 0.0, 3.0, 1.0], dtype=np.float32)
    assert top_positive(scores, 3).tolist() == [5, 1, 3]
    assert top_positive(scores, 4).tolist() == [5, 1, 3, 2]
    assert top_positive(scores, 10).tolist() == [5, 1, 3, 2, 6]
    assert top_positive(np.zeros(5, dtype=np.float32), 3).tolist() == []


def test_keyword_index_follows_ingest_and_removal(
    make_assistant: AssistantFactory, seed_corpus: Path
) -> None:
    assistant = make_assistant()
    assistant.ingest()
    retriever = assistant.retriever
    assert not retriever.keyword_index().search("zanzibarquux", 5)
    cached_before = dict(retriever._terms.by_chunk)
    (seed_corpus / "note.md").write_text(
        "The zanzibarquux agreement covers undersea cables between the two countries.\n", encoding="utf-8"
    )
    assistant.ingest()
    index = retriever.keyword_index()
    hits = index.search("zanzibarquux", 5)
    note_chunks = assistant.store.chunks.get(where={"source": "note.md"}, include=[])["ids"]
    assert [cid for cid, _ in hits] == note_chunks
    assert any(p.source == "note.md" for p in assistant.search("zanzibarquux agreement", 4))
    # the seed article's chunks were not tokenised again: the very same arrays are reused
    assert all(retriever._terms.by_chunk[cid] is arr for cid, arr in cached_before.items())
    assert assistant.remove_document("note.md")
    assert not retriever.keyword_index().search("zanzibarquux", 5)
    assert set(retriever._terms.by_chunk) == set(assistant.store.chunk_ids())


def test_changes_by_another_process_show_after_a_recount(
    make_assistant: AssistantFactory, seed_corpus: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assistant = make_assistant()
    assistant.ingest()
    retriever = assistant.retriever
    retriever.keyword_index()
    calls = []
    count = assistant.store.count_chunks
    monkeypatch.setattr(assistant.store, "count_chunks", lambda *a: calls.append(1) or count(*a))
    retriever.keyword_index()
    assert calls == []  # recounted a moment ago and nothing changed in this process: no round trip
    other = make_assistant()  # another writer on the same index, as `assistant ingest` beside `serve`
    (seed_corpus / "note.md").write_text("The quuxotic accord was signed by both delegations.\n")
    other.ingest()
    monkeypatch.setattr("assistant.retrieval._RECOUNT_S", 0.0)
    assert retriever.keyword_index().search("quuxotic", 3)
    assert calls


def test_hybrid_retrieval_returns_exactly_what_the_previous_implementation_did(
    make_assistant: AssistantFactory, seed_corpus: Path
) -> None:
    write_corpus(seed_corpus / "news", paragraphs(150), per_file=50)
    assistant = make_assistant(multilingual_index=False)  # the two-list fusion the reference implements
    assistant.ingest()
    retriever = assistant.retriever
    queries = [*questions(12), "Which technologies were named for joint ventures?", "LNG exports Alaska"]
    keyword_only = 0
    for query in queries:
        dense = {
            p.chunk_id for p in retriever.store.query(retriever.embeddings.embed_query(query), _CANDIDATES)
        }
        for k in (1, 4, 8):
            got, want = retriever.retrieve(query, k), reference_hybrid(retriever, query, k)
            assert got == want  # same chunks, same order, scores equal to the last bit
            keyword_only += sum(p.chunk_id not in dense for p in got)
    assert keyword_only > 0  # the path that fetches keyword-only winners was taken too


def test_the_multilingual_index_ranks_a_japanese_passage_for_an_english_question(
    make_assistant: AssistantFactory, seed_corpus: Path
) -> None:
    shutil.copy(ROOT / "corpus" / "meeting-readout-ja.md", seed_corpus)
    lunar = "How much money are the two countries putting into joint lunar research?"
    assistant = make_assistant()
    assistant.ingest()
    retriever = assistant.retriever
    assert retriever.multilingual is not None
    first = retriever.store.nearest_multilingual(retriever.multilingual.queries([lunar])[0], 3)
    texts = dict(retriever.store.texts(first.ids))
    assert any("3億ドル" in texts[i] for i in first.ids)  # among the first 3: always a candidate
    assert any("3億ドル" in p.text for p in retriever.retrieve(lunar, 12))
    english_only = make_assistant(multilingual_index=False, data_dir=seed_corpus.parent / "english-only")
    assert english_only.store.multilingual is None and english_only.retriever.multilingual is None


def test_the_multilingual_firsts_take_the_places_of_the_last_others() -> None:
    assert _with_firsts(["a", "b", "c", "d"], ["x", "b"], 4) == ["a", "b", "c", "x"]
    assert _with_firsts(["a", "b"], ["x"], 4) == ["a", "b", "x"]  # room left: nothing dropped
    assert _with_firsts(["a", "b", "c", "d"], ["c", "d"], 4) == ["a", "b", "c", "d"]
