"""16 questions at once while an ingest of 20 new files runs: no errors, no lost or duplicated chunks.

The chat model is a fake (the model is not what is tested: the shared index, retriever, keyword index and
embedding model are); everything else is real. Run with ``-s`` to see the timings.
"""

from __future__ import annotations

import statistics
import threading
import time
from pathlib import Path

from assistant.types import Answer, Evidence, Token
from tests.conftest import AssistantFactory, chunk_ids, write_generated_files

QUESTIONS = [
    "Which technologies were named for joint ventures?",
    "What technologies are the joint ventures about?",
    "Joint ventures in which critical technologies?",
    "Which critical technologies are mentioned for collaboration?",
]
REPLY = "Joint ventures are promoted in critical technologies such as AI and semiconductors [1]."
NEW_FILES = 20
PARAGRAPHS = 8


def test_sixteen_questions_during_an_ingest(
    make_assistant: AssistantFactory, seed_corpus: Path, tmp_path: Path
) -> None:
    assistant = make_assistant(responses=[REPLY])
    assistant.ingest()
    assistant.chain  # noqa: B018  (loaded once, as the web app's warm-up does)
    write_generated_files(
        seed_corpus,
        "bulletin",
        NEW_FILES,
        PARAGRAPHS,
        lambda f, p: (
            f"Bulletin {f} item {p}: port officials in Nagoya counted {f * 100 + p} containers of "
            f"machine parts, fertiliser and frozen fish arriving on the morning tide."
        ),
    )

    errors: list[BaseException] = []
    answers: dict[int, Answer] = {}
    latency: dict[int, float] = {}
    started_ingest = threading.Event()
    ingest_span: dict[str, float] = {}

    def ingest() -> None:
        def progress(done: int, total: int, source: str) -> None:
            started_ingest.set()

        ingest_span["start"] = time.perf_counter()
        try:
            ingest_span["report"] = assistant.ingest(progress=progress).count("added")
        except BaseException as err:
            errors.append(err)
        finally:
            ingest_span["end"] = time.perf_counter()
            started_ingest.set()

    gate = threading.Barrier(16)

    def ask(n: int) -> None:
        question = QUESTIONS[n % len(QUESTIONS)]
        try:
            gate.wait(timeout=60)
            begun = time.perf_counter()
            if n % 2:
                answer = assistant.ask(question)
            else:
                events = list(assistant.stream(question))
                assert isinstance(events[0], Evidence)  # the quotes come first, then the model's text
                assert all(isinstance(e, Token) for e in events[1:-1])
                answer = events[-1]
                assert isinstance(answer, Answer)
            latency[n] = time.perf_counter() - begun
            answers[n] = answer
        except BaseException as err:
            errors.append(err)

    ingester = threading.Thread(target=ingest, name="ingest")
    ingester.start()
    assert started_ingest.wait(120)
    first_question = time.perf_counter()
    askers = [threading.Thread(target=ask, args=(n,), name=f"ask-{n}") for n in range(16)]
    for thread in askers:
        thread.start()
    for thread in askers:
        thread.join(timeout=300)
    questions_wall = time.perf_counter() - first_question
    ingester.join(timeout=600)

    assert not errors, errors
    assert len(answers) == 16
    for answer in answers.values():
        assert not answer.refused, answer.refusal_reason
        assert "semiconductors" in answer.citations[0].passage
    assert first_question < ingest_span["end"], "the ingest was over before the questions started"
    assert ingest_span["report"] == NEW_FILES

    ids = chunk_ids(assistant)
    clean = make_assistant(data_dir=tmp_path / "clean-data")
    clean.ingest()
    assert ids == chunk_ids(clean) and len(ids) == len(set(ids)) == assistant.store.count_chunks()
    assert len(ids) == 11 + NEW_FILES * PARAGRAPHS
    assert len(assistant.documents()) == 1 + NEW_FILES

    times = sorted(latency.values())
    overlap = sum(1 for n in latency if first_question + latency[n] < ingest_span["end"])
    print(
        f"\n16 questions during an ingest of {NEW_FILES} files ({NEW_FILES * PARAGRAPHS} chunks): "
        f"questions wall {questions_wall:.2f} s, latency p50 {statistics.median(times):.2f} s, "
        f"p95 {times[int(0.95 * (len(times) - 1))]:.2f} s, max {times[-1]:.2f} s, min {times[0]:.2f} s; "
        f"ingest {ingest_span['end'] - ingest_span['start']:.2f} s; "
        f"{overlap} of 16 answered while the ingest was still running"
    )
