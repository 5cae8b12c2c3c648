"""Retrieval: vector search in Chroma, optionally fused with BM25 keyword ranking (reciprocal rank fusion).

Names and numbers are where a small embedding model is weakest and keywords are strongest; fusing the two
rankings lifts the right paragraph into the top few more often than either alone.
"""

from __future__ import annotations

import math
import re
import threading
from collections import Counter, defaultdict
from collections.abc import Callable

import numpy as np

from assistant.embeddings import LocalEmbeddings
from assistant.glossary import Glossary
from assistant.store import ChunkStore, to_passage
from assistant.types import Passage

_TOKEN = re.compile(r"\w+", re.UNICODE)
_STOPWORDS = frozenset(
    {
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "been",
        "but",
        "by",
        "did",
        "do",
        "does",
        "for",
        "from",
        "had",
        "has",
        "have",
        "he",
        "her",
        "his",
        "how",
        "i",
        "in",
        "is",
        "it",
        "its",
        "me",
        "of",
        "on",
        "or",
        "she",
        "that",
        "the",
        "their",
        "them",
        "there",
        "they",
        "this",
        "to",
        "was",
        "were",
        "what",
        "when",
        "where",
        "which",
        "who",
        "whom",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
        "about",
        "also",
        "any",
        "can",
        "could",
        "into",
        "more",
        "most",
        "other",
        "our",
        "over",
        "some",
        "such",
        "than",
        "then",
        "these",
        "those",
        "us",
        "we",
    }
)
_RRF_K = 60
_CANDIDATES = 20


def terms(text: str) -> list[str]:
    """Lower-cased word stems without stop words (a deliberately small stemmer)."""
    out = []
    for word in _TOKEN.findall(text.lower()):
        if word in _STOPWORDS or len(word) < 2:
            continue
        for suffix in ("ies", "es", "s", "ing", "ed"):
            if word.endswith(suffix) and len(word) - len(suffix) >= 4:
                word = word[: -len(suffix)]
                break
        out.append(word)
    return out


class KeywordIndex:
    """BM25 (Okapi) over an inverted index: a query touches only the chunks that contain its terms."""

    def __init__(self, ids: list[str], texts: list[str], k1: float = 1.5, b: float = 0.75) -> None:
        self.ids = ids
        self.k1, self.b = k1, b
        postings: dict[str, list[tuple[int, int]]] = defaultdict(list)
        lengths = np.zeros(len(texts), dtype=np.float32)
        for doc, text in enumerate(texts):
            counts = Counter(terms(text))
            lengths[doc] = sum(counts.values())
            for term, tf in counts.items():
                postings[term].append((doc, tf))
        self.lengths = lengths
        self.avg_length = float(lengths.mean()) if len(texts) else 0.0
        self.postings = {
            t: (np.array([d for d, _ in p], dtype=np.int64), np.array([f for _, f in p], dtype=np.float32))
            for t, p in postings.items()
        }

    def search(self, query: str, k: int) -> list[tuple[str, float]]:
        if not self.ids:
            return []
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


class Retriever:
    """Top passages for a query, each scored by cosine similarity to it."""

    def __init__(
        self,
        store: ChunkStore,
        embeddings: LocalEmbeddings,
        hybrid: bool,
        index_version: Callable[[], int],
        glossary: Glossary | None = None,
    ) -> None:
        self.glossary = glossary or Glossary({})
        self.store = store
        self.embeddings = embeddings
        self.hybrid = hybrid
        self.index_version = index_version
        self._keywords: KeywordIndex | None = None
        self._keywords_key: tuple[int, int] | None = None
        self._lock = threading.Lock()

    def keyword_index(self) -> KeywordIndex:
        """The BM25 index, rebuilt when the store has changed since it was built."""
        key = (self.index_version(), self.store.count_chunks())
        with self._lock:
            if self._keywords is None or key != self._keywords_key:
                ids, texts = [], []
                for chunk_id, text, _ in self.store.iter_chunks():
                    ids.append(chunk_id)
                    texts.append(text)
                self._keywords, self._keywords_key = KeywordIndex(ids, texts), key
            return self._keywords

    def retrieve(self, query: str, k: int) -> list[Passage]:
        query = self.glossary.expand(query)
        vector = self.embeddings.embed_query(query)
        if not self.hybrid:
            return self.store.query(vector, k)
        dense = self.store.query(vector, max(k, _CANDIDATES))
        sparse = self.keyword_index().search(query, max(k, _CANDIDATES))
        fused: dict[str, float] = defaultdict(float)
        for rank, passage in enumerate(dense):
            fused[passage.chunk_id] += 1.0 / (_RRF_K + rank + 1)
        for rank, (chunk_id, _) in enumerate(sparse):
            fused[chunk_id] += 1.0 / (_RRF_K + rank + 1)
        chosen = sorted(fused, key=lambda cid: -fused[cid])[:k]
        known = {p.chunk_id: p for p in dense}
        return [known.get(cid) or self._scored(cid, vector) for cid in chosen]

    def _scored(self, chunk_id: str, vector: list[float]) -> Passage:
        got = self.store.chunks.get(ids=[chunk_id], include=["documents", "metadatas", "embeddings"])
        score = float(np.dot(np.asarray(got["embeddings"][0]), np.asarray(vector)))
        return to_passage(chunk_id, got["documents"][0], got["metadatas"][0], score)
