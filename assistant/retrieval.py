"""Retrieval: vector search in Chroma, optionally fused with BM25 keyword ranking (reciprocal rank fusion).

Names and numbers are where a small embedding model is weakest and keywords are strongest; fusing the two
rankings lifts the right paragraph into the top few more often than either alone.
"""

from __future__ import annotations

import math
import re
import threading
import time
from collections import defaultdict
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
_RECOUNT_S = 1.0


_SUFFIXES = ("ies", "es", "s", "ing", "ed")
_STEMS: dict[str, str | None] = {}  # word -> stem (None: a stop word or too short); words repeat a lot


def _stem(word: str) -> str | None:
    if word in _STOPWORDS or len(word) < 2:
        stem = None
    else:
        stem = word
        for suffix in _SUFFIXES:
            if word.endswith(suffix) and len(word) - len(suffix) >= 4:
                stem = word[: -len(suffix)]
                break
    if len(_STEMS) < 500_000:
        _STEMS[word] = stem
    return stem


def terms(text: str) -> list[str]:
    """Lower-cased word stems without stop words (a deliberately small stemmer)."""
    stems = _STEMS
    out = []
    for word in _TOKEN.findall(text.lower()):
        stem = stems[word] if word in stems else _stem(word)
        if stem is not None:
            out.append(stem)
    return out


class TermCache:
    """Each chunk's terms as integer ids, kept between index builds: after an ingest only new chunks are read
    and tokenised, not the whole collection."""

    def __init__(self) -> None:
        self.vocabulary: dict[str, int] = {}
        self.by_chunk: dict[str, np.ndarray] = {}

    def add(self, chunk_id: str, text: str) -> None:
        vocabulary = self.vocabulary
        ids = [vocabulary.setdefault(term, len(vocabulary)) for term in terms(text)]
        self.by_chunk[chunk_id] = np.array(ids, dtype=np.int32)

    def keep_only(self, chunk_ids: set[str]) -> None:
        for gone in self.by_chunk.keys() - chunk_ids:
            del self.by_chunk[gone]


class KeywordIndex:
    """BM25 (Okapi) over an inverted index: a query touches only the chunks that contain its terms.

    The postings are built with numpy from each chunk's term ids, in one pass over all of them.
    """

    def __init__(
        self,
        ids: list[str],
        texts: list[str] | None = None,
        k1: float = 1.5,
        b: float = 0.75,
        cache: TermCache | None = None,
    ) -> None:
        """Index ``texts`` (or, with ``texts=None``, the chunks ``ids`` already in ``cache``)."""
        self.ids = ids
        self.k1, self.b = k1, b
        if texts is not None:
            cache = TermCache()
            for chunk_id, text in zip(ids, texts, strict=True):
                cache.add(chunk_id, text)
        assert cache is not None, "KeywordIndex needs texts or a TermCache"
        per_doc = [cache.by_chunk[chunk_id] for chunk_id in ids]
        sizes = np.array([len(t) for t in per_doc], dtype=np.int64)
        self.lengths = sizes.astype(np.float32)
        self.avg_length = float(self.lengths.mean()) if len(ids) else 0.0
        term_ids = np.concatenate(per_doc) if per_doc else np.zeros(0, dtype=np.int32)
        docs = np.repeat(np.arange(len(ids), dtype=np.int64), sizes)
        # one key per (term, doc) pair, sorted by term then doc: the postings, each in document order
        pairs, tf = np.unique(term_ids.astype(np.int64) * max(len(ids), 1) + docs, return_counts=True)
        pair_terms, pair_docs = np.divmod(pairs, max(len(ids), 1))
        starts = np.flatnonzero(np.diff(pair_terms, prepend=-1))
        ends = np.append(starts[1:], len(pairs)) if len(starts) else starts  # none on an empty index
        names = {index: term for term, index in cache.vocabulary.items()}
        tfs = tf.astype(np.float32)
        self.postings = {
            names[int(pair_terms[a])]: (pair_docs[a:e], tfs[a:e]) for a, e in zip(starts, ends, strict=True)
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
        return [(self.ids[i], float(scores[i])) for i in top_positive(scores, k)]


def top_positive(scores: np.ndarray, k: int) -> np.ndarray:
    """Positions of the ``k`` highest positive scores, best first; equal scores in position order.

    Sorts only the candidates, not every chunk (a full argsort costs ~2 ms at 100k chunks).
    """
    hits = np.flatnonzero(scores > 0)
    if len(hits) > k > 0:
        kth = np.partition(scores[hits], len(hits) - k)[len(hits) - k]
        hits = hits[scores[hits] >= kth]
    return hits[np.lexsort((hits, -scores[hits]))][: max(k, 0)]


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
        self._terms = TermCache()
        self._counted_at = -math.inf
        self._lock = threading.Lock()

    def keyword_index(self) -> KeywordIndex:
        """The BM25 index, rebuilt when the store has changed since it was built.

        Changes made in this process bump ``index_version`` and show at once. Changes by another process
        (an `assistant ingest` beside `serve`) show in the chunk count, which is asked at most every
        ``_RECOUNT_S`` seconds rather than on every query (a round trip of ~1 ms at 10k chunks).
        """
        version, now = self.index_version(), time.monotonic()
        with self._lock:
            fresh = self._keywords_key is not None and self._keywords_key[0] == version
            if self._keywords is not None and fresh and now - self._counted_at < _RECOUNT_S:
                return self._keywords
        key = (version, self.store.count_chunks())
        with self._lock:
            self._counted_at = now
            if self._keywords is None or key != self._keywords_key:
                ids = self.store.chunk_ids()
                self._terms.keep_only(set(ids))
                new = [chunk_id for chunk_id in ids if chunk_id not in self._terms.by_chunk]
                for chunk_id, text in self.store.texts(new):
                    self._terms.add(chunk_id, text)
                self._keywords, self._keywords_key = KeywordIndex(ids, cache=self._terms), key
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
        known.update(self._scored([cid for cid in chosen if cid not in known], vector))
        return [known[cid] for cid in chosen if cid in known]  # a chunk deleted meanwhile is skipped

    def _scored(self, chunk_ids: list[str], vector: list[float]) -> dict[str, Passage]:
        """Keyword-only hits, scored by cosine similarity like the rest (one round trip for all of them)."""
        if not chunk_ids:
            return {}
        got = self.store.chunks.get(ids=chunk_ids, include=["documents", "metadatas", "embeddings"])
        query = np.asarray(vector)
        return {
            cid: to_passage(cid, text, meta, float(np.dot(np.asarray(embedding), query)))
            for cid, text, meta, embedding in zip(
                got["ids"], got["documents"], got["metadatas"], got["embeddings"], strict=True
            )
        }
