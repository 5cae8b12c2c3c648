"""What a question's embedding step costs while an ingest embeds beside it, per way of sharing the model.

    .venv/bin/python benchmarks/encode_during_ingest.py [--questions 40]

A question's step is one query plus 20 evidence sentences (what the answer step encodes). It is timed
alone, then beside an ingest (token counts plus batches of 32 chunks of ~200 tokens), in three ways:
``tokenizer-lock`` (the project: only tokenizing is serialised), ``whole-lock`` (every encode serialised)
and ``unlocked`` (the raw library, which can fail: its errors are counted, not raised).
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time

import numpy as np

from assistant.embeddings import LocalEmbeddings

CHUNK = (
    "Senior administration officials hinted at seeking commitments from Japan, particularly in terms "
    "of investments in the U.S. manufacturing sector and energy exports. "
) * 5


def question_step(n: int) -> list[str]:
    return [f"Which technologies are named for joint ventures, take {n}?"] + [
        f"Sentence {i} of the evidence about alliance, tariffs and security guarantees." * (1 + i % 3)
        for i in range(20)
    ]


def run(embeddings: LocalEmbeddings, mode: str, questions: int) -> tuple[list[float], int]:
    whole = threading.Lock()

    def encode(texts: list[str], batch_size: int | None = None) -> np.ndarray:
        if mode == "whole-lock":
            with whole:
                return embeddings.encode(texts, batch_size)
        return embeddings.encode(texts, batch_size)

    def count(text: str) -> int:
        if mode == "whole-lock":
            with whole:
                return embeddings.count_tokens(text)
        return embeddings.count_tokens(text)

    stop = threading.Event()
    errors = [0]

    def ingest() -> None:
        while not stop.is_set():
            try:
                for _ in range(32):
                    count(CHUNK)
                encode([CHUNK] * 32, 32)
            except ValueError:
                errors[0] += 1

    times: list[float] = []
    worker = threading.Thread(target=ingest) if mode != "alone" else None
    if worker:
        worker.start()
        time.sleep(1.0)
    for n in range(questions):
        began = time.perf_counter()
        try:
            encode(question_step(n))
        except ValueError:
            errors[0] += 1
            continue
        times.append(time.perf_counter() - began)
    stop.set()
    if worker:
        worker.join()
    return times, errors[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--questions", type=int, default=40)
    args = parser.parse_args()
    if args.questions < 1:
        raise SystemExit("--questions must be at least 1")
    embeddings = LocalEmbeddings()
    embeddings.encode(["warm up"])
    alone = None
    for mode in ("alone", "tokenizer-lock", "whole-lock", "unlocked"):
        if mode == "unlocked":  # the library's own method, without the project's lock around it
            del embeddings.model.preprocess
        times, errors = run(embeddings, mode, args.questions)
        p50 = statistics.median(times) if times else float("nan")
        p95 = sorted(times)[int(0.95 * (len(times) - 1))] if times else float("nan")
        alone = alone or p50
        print(
            f"{mode:<15} p50 {p50 * 1000:7.1f} ms  p95 {p95 * 1000:7.1f} ms  ratio to alone "
            f"{p50 / alone:5.2f}  errors {errors}"
        )


if __name__ == "__main__":
    main()
