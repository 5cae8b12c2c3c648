"""Retrieval: vector search in Chroma, optionally fused with BM25 keyword ranking (reciprocal rank fusion).

Names and numbers are where a small embedding model is weakest and keywords are strongest; fusing the two
rankings lifts the right paragraph into the top few more often than either alone.

With a multilingual index, a third ranking comes from a model that reads Japanese and English alike. It is
fused like the others, and its first few are always among the results: neither the English model nor the
keywords can vote for a passage in another language, so fusion alone would bury it. A passage is scored
by the English model when it and the question are both English, else by the multilingual model (on the
English model's scale), so one relevance threshold holds for both.
"""

from __future__ import annotations

import math
import re
import threading
import time
from collections.abc import Callable
from dataclasses import replace

import numpy as np

from assistant.embeddings import LocalEmbeddings
from assistant.glossary import Glossary
from assistant.japanese import ANALYSER, has_japanese
from assistant.sentence_encoder import SentenceEncoder
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
_ACROSS_FIRST = 3  # the multilingual ranking's first 3 are always among 12 results (1 among 4)
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
    """Lower-cased word stems without stop words (a deliberately small stemmer).

    A run of Japanese is cut into its words by a morphological analyser; text without Japanese never
    loads it, and its words come out exactly as they always did.
    """
    stems = _STEMS
    japanese = has_japanese(text)
    out = []
    for word in _TOKEN.findall(text.lower()):
        if japanese and has_japanese(word):
            out.extend(_japanese_terms(word))
            continue
        stem = stems[word] if word in stems else _stem(word)
        if stem is not None:
            out.append(stem)
    return out


def _japanese_terms(run: str) -> list[str]:
    """The content words of a ``\\w+`` run holding Japanese, in their dictionary form.

    A Latin word inside the run ("AI分野") is stemmed like any English word, so it matches the English one.
    A number is kept whole even when short: the analyser cuts 4月10日 into 4 / 月 / 10 / 日, and the 4 is
    what tells April from the other months.
    """
    out = []
    for word in map(str.lower, ANALYSER.content_words(run)):  # the dictionary's own form may be "AI"
        if word.isdecimal() or has_japanese(word):
            out.append(word)
        elif (stem := _stem(word)) is not None:
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
        # one key per term occurrence, term * n + doc; sorted, equal keys are the (term, doc) pairs and their
        # counts, in term order and within a term in document order: the postings. Done in place (what
        # np.unique does, with fewer copies: a build at 100k chunks handles ~5M occurrences).
        n = max(len(ids), 1)
        keys = np.concatenate(per_doc).astype(np.int64) if per_doc else np.zeros(0, dtype=np.int64)
        keys *= n
        keys += np.repeat(np.arange(len(ids), dtype=np.int64), sizes)
        keys.sort()
        first = np.ones(len(keys), dtype=bool)
        np.not_equal(keys[1:], keys[:-1], out=first[1:])
        at = np.flatnonzero(first)
        del first
        tf = np.diff(np.append(at, len(keys))).astype(np.float32)
        pair_terms, pair_docs = np.divmod(keys[at], n)
        del keys, at
        pair_docs = pair_docs.astype(np.int32)
        starts = np.flatnonzero(np.diff(pair_terms, prepend=-1))
        ends = np.append(starts[1:], len(pair_terms)) if len(starts) else starts  # none on an empty index
        names = {index: term for term, index in cache.vocabulary.items()}
        weights = self._weights(tf, pair_docs, ends - starts)
        del tf
        self.postings = {
            names[int(pair_terms[a])]: (pair_docs[a:e], weights[a:e])
            for a, e in zip(starts, ends, strict=True)
        }

    def _weights(self, tf: np.ndarray, docs: np.ndarray, df: np.ndarray) -> np.ndarray:
        """Every posting's BM25 weight ``idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * len / avg_len))``.

        It does not depend on the query, so it is computed once here instead of per query term; in float32,
        operation by operation as the per-query formula did, so scores are the same to the last bit.
        """
        n, k1, b = len(self.ids), self.k1, self.b
        norm = self.lengths[docs]  # a new array: the steps below work in place to bound the build's memory
        norm *= b
        norm /= max(self.avg_length, 1e-9)
        norm += 1 - b
        norm *= k1
        norm += tf  # now tf + norm
        idf = [math.log(1 + (n - d + 0.5) / (d + 0.5)) for d in df.tolist()]
        weights = np.repeat(np.array(idf, dtype=np.float32), df)
        weights *= tf
        weights *= k1 + 1
        weights /= norm
        return weights

    def search(self, query: str, k: int) -> list[tuple[str, float]]:
        if not self.ids:
            return []
        scores = np.zeros(len(self.ids), dtype=np.float32)
        for term in set(terms(query)):
            posting = self.postings.get(term)
            if posting is not None:
                docs, weights = posting
                scores[docs] += weights
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
        multilingual: SentenceEncoder | None = None,
    ) -> None:
        self.glossary = glossary or Glossary({})
        self.store = store
        self.embeddings = embeddings
        self.multilingual = multilingual if store.multilingual is not None else None
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
        across = self.multilingual.queries([query])[0] if self.multilingual is not None else None
        return self.retrieve_embedded(query, self.embeddings.encode([query])[0], k, across)

    def retrieve_embedded(
        self, query: str, vector: np.ndarray, k: int, across: np.ndarray | None = None
    ) -> list[Passage]:
        """``retrieve`` for a query already expanded by the glossary and embedded (a unit float32 vector;
        ``across``: its multilingual vector, when the index has one).

        Hybrid: the ids and distances of the 20 nearest chunks and the 20 best BM25 hits are fused by
        reciprocal rank; then the texts of only the ``k`` winners are fetched, in one call (Chroma's query
        costs about three times as much when it also returns the texts of all 20 candidates). Winners found
        by keywords alone are scored by cosine similarity with their stored vectors, like the rest.
        """
        if not self.hybrid and across is None:
            return self.store.query(vector, k)
        n = max(k, _CANDIDATES)
        dense = self.store.nearest(vector, n, texts=False)
        rankings = [dense.ids]
        if self.hybrid:
            rankings.append([chunk_id for chunk_id, _ in self.keyword_index().search(query, n)])
        multilingual = self.store.nearest_multilingual(across, n)
        rankings.append(multilingual.ids)
        fused: dict[str, float] = {}
        for ranking in rankings:
            for rank, chunk_id in enumerate(ranking):
                fused[chunk_id] = fused.get(chunk_id, 0.0) + 1.0 / (_RRF_K + rank + 1)
        chosen = sorted(fused, key=fused.__getitem__, reverse=True)[:k]  # stable: ties keep fused order
        chosen = _with_firsts(chosen, multilingual.ids[: min(_ACROSS_FIRST, k // 4)], k)
        distances = dict(zip(dense.ids, dense.distances, strict=True))
        keyword_only = any(chunk_id not in distances for chunk_id in chosen)
        query64 = np.asarray(vector, dtype=np.float64)  # as the cosine was always taken: in float64
        found: dict[str, Passage] = {}
        for chunk_id, text, meta, embedding in self.store.fetch(chosen, embeddings=keyword_only):
            if chunk_id in distances:
                score = 1.0 - float(distances[chunk_id])
            else:
                score = float(np.dot(np.asarray(embedding), query64))
            found[chunk_id] = to_passage(chunk_id, text, meta, score)
        if across is not None:
            self._score_across_languages(query, across, found)
        return [found[chunk_id] for chunk_id in chosen if chunk_id in found]  # one deleted meanwhile: skipped

    def _score_across_languages(self, query: str, across: np.ndarray, found: dict[str, Passage]) -> None:
        """Score the passages the English model cannot judge (a Japanese question, or a Japanese passage) by
        the multilingual model instead, on the English model's scale."""
        assert self.multilingual is not None
        japanese = has_japanese(query)
        foreign = [chunk_id for chunk_id, p in found.items() if japanese or has_japanese(p.text)]
        for chunk_id, vector in self.store.multilingual_vectors(foreign).items():
            other = np.array([has_japanese(found[chunk_id].text) != japanese])
            score = float(self.multilingual.similarity(across, vector.reshape(1, -1), other)[0])
            found[chunk_id] = replace(found[chunk_id], score=score)


def _with_firsts(chosen: list[str], firsts: list[str], k: int) -> list[str]:
    """``chosen`` with every id of ``firsts`` in it, at most ``k`` long: those missing take the places of
    the last of the others."""
    missing = [chunk_id for chunk_id in firsts if chunk_id not in chosen]
    kept = list(chosen)
    for chunk_id in reversed(chosen):
        if len(kept) + len(missing) <= k:
            break
        if chunk_id not in firsts:
            kept.remove(chunk_id)
    return kept + missing
