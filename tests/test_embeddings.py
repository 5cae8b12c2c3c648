"""The shared embedding model under concurrent use: an ingest beside questions.

One sentence-transformers model, and its fast tokenizer, serves the ingest and every question. The tokenizer
keeps its padding and truncation settings as state that each call rewrites: the chunker counts tokens with
padding off while a question encodes a batch of sentences with padding on. Two threads at once could see
each other's settings ("Unable to create tensor ... excessive nesting"). This test makes that likely: a
chunker counting tokens without pause beside many small batches of sentences of different lengths, several
rounds over, plus a long ingest batch.
"""

from __future__ import annotations

import threading

import numpy as np

from assistant.embeddings import LocalEmbeddings

ROUNDS = 3
ENCODERS = 2
BATCHES = 60


def _sentences(offset: int) -> list[str]:
    """Eight sentences of different lengths: a batch that needs padding."""
    return [
        ("the leaders discussed joint ventures in critical technologies " * (1 + (i + offset) % 5)).strip()
        for i in range(8)
    ]


def test_questions_and_an_ingest_can_share_the_model(embeddings: LocalEmbeddings) -> None:
    expected = embeddings.encode(_sentences(0))
    errors: list[BaseException] = []
    done = threading.Event()
    counted = [0]

    def chunker() -> None:  # the ingest's chunker: token counts, padding and truncation off
        try:
            while not done.is_set():
                embeddings.count_tokens("Which technologies were named for joint ventures? " * 3)
                counted[0] += 1
        except BaseException as err:
            errors.append(err)

    def ingest_batch() -> None:
        try:
            embeddings.encode([("port officials counted containers " * (1 + i % 30)) for i in range(64)])
        except BaseException as err:
            errors.append(err)

    def questions(seed: int) -> None:  # the answer step: small batches of sentences, padding on
        try:
            for n in range(BATCHES):
                vectors = embeddings.encode(_sentences(seed + n))
                assert vectors.shape == (8, 384)
        except BaseException as err:
            errors.append(err)

    for _ in range(ROUNDS):
        done.clear()
        background = [threading.Thread(target=chunker), threading.Thread(target=ingest_batch)]
        askers = [threading.Thread(target=questions, args=(n,)) for n in range(ENCODERS)]
        for thread in background + askers:
            thread.start()
        for thread in askers:
            thread.join(timeout=300)
        done.set()
        for thread in background:
            thread.join(timeout=300)
        assert not errors, f"{len(errors)} errors, first: {errors[0]!r}"
    assert counted[0] > 0
    # vectors made during the race are the ones made alone
    assert np.allclose(embeddings.encode(_sentences(0)), expected, atol=1e-5)
