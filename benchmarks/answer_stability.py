"""Does the same question get the same answer? The single-turn cases of the question set are asked in four
runs, and every answer text is compared with the first run's:

1. cold: a fresh process (index built, model loaded) asks each question once, in order;
2. warm: the same process asks them all again (the runtime's caches now hold earlier prompts);
3. concurrent: the same process asks them all again, ``--concurrent`` (8) at a time;
4. crowded: a second index over the corpus plus four small unrelated notes (a dinner menu, a travel note, a
   Japanese note, a one-line note) answers them once more.

    .venv/bin/python benchmarks/answer_stability.py [--runs cold,crowded] [--concurrent 8] [--limit 40]
        [--json stability.json]

Prints one line per run: how many answer texts differ from the cold run's, and how many of those flipped
(refused where the cold run answered or the other way round, or gained or lost a key fact), with their ids.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from assistant.config import Settings
from assistant.evalset import EvalCase, load_eval_set
from assistant.evaluation import missing_facts
from assistant.factory import build_assistant
from assistant.service import Assistant

UNRELATED = Path(__file__).resolve().parent.parent / "tests" / "data" / "unrelated-notes"


def run(
    name: str, ask: Callable[[str], tuple[str, bool]], questions: list[str], workers: int = 1
) -> list[tuple[str, bool]]:
    started = time.perf_counter()
    done = 0

    def one(question: str) -> tuple[str, bool]:
        nonlocal done
        text = ask(question)
        done += 1
        print(
            f"\r{name}: {done}/{len(questions)} ({time.perf_counter() - started:.0f} s)",
            end="",
            file=sys.stderr,
        )
        return text

    with ThreadPoolExecutor(workers) as pool:
        texts = list(pool.map(one, questions))
    print(file=sys.stderr)
    return texts


def crowded_assistant(settings: Settings, folder: Path) -> Assistant:
    corpus = folder / "corpus"
    shutil.copytree(settings.corpus_dir, corpus)
    for note in UNRELATED.glob("*.md"):
        shutil.copy(note, corpus / note.name)
    crowded = build_assistant(settings.model_copy(update={"corpus_dir": corpus, "data_dir": folder / "data"}))
    crowded.ingest()
    return crowded


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--runs", default="cold,warm,concurrent,crowded", help="which runs, comma-separated (cold always)"
    )
    parser.add_argument("--concurrent", type=int, default=8, help="questions asked at once in run 3")
    parser.add_argument("--limit", type=int, default=0, help="only the first N cases")
    parser.add_argument("--questions", type=Path, default=Path("eval/questions.yaml"))
    parser.add_argument("--json", type=Path, help="write every case's answers here")
    args = parser.parse_args()
    settings = Settings()
    assistant = build_assistant(settings)
    assistant.ingest()
    assistant.chain  # noqa: B018  (loads the model before the clock starts)
    cases = [c for c in load_eval_set(args.questions) if not c.setup]
    cases = cases[: args.limit] if args.limit else cases
    questions = [c.question for c in cases]

    ask = asker(assistant)
    wanted = set(args.runs.split(","))
    runs = {"cold": run("cold", ask, questions)}
    if "warm" in wanted:
        runs["warm"] = run("warm", ask, questions)
    if "concurrent" in wanted:
        runs["concurrent"] = run(f"{args.concurrent} at once", ask, questions, args.concurrent)
    if "crowded" in wanted:
        with tempfile.TemporaryDirectory() as folder:
            crowded = crowded_assistant(settings, Path(folder))
            runs["crowded"] = run("crowded", asker(crowded), questions)
    rows = [
        {"id": c.id, "question": c.question}
        | {n: texts[i][0] for n, texts in runs.items()}
        | {f"{n}_outcome": outcome(c, *texts[i]) for n, texts in runs.items()}
        for i, c in enumerate(cases)
    ]
    for name in [n for n in runs if n != "cold"]:
        changed = [r["id"] for r in rows if r[name] != r["cold"]]
        flipped = [r["id"] for r in rows if r[f"{name}_outcome"] != r["cold_outcome"]]
        print(
            f"{name}: {len(changed)} of {len(rows)} answers differ from the cold run {changed}; "
            f"{len(flipped)} flipped (refusal or key facts) {flipped}"
        )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1, ensure_ascii=False))


def asker(assistant: Assistant) -> Callable[[str], tuple[str, bool]]:
    """Ask ``assistant`` a question: the answer's text, and whether it was refused."""

    def ask(question: str) -> tuple[str, bool]:
        answer = assistant.ask(question)
        return answer.text, answer.refused

    return ask


def outcome(case: EvalCase, text: str, refused: bool) -> str:
    """What the answer amounts to: refused, or answered with the key facts it holds."""
    if refused:
        return "refused"
    missing = missing_facts(text, case.key_facts) if case.key_facts else []
    return f"answered, {len(case.key_facts) - len(missing)}/{len(case.key_facts)} key facts"


if __name__ == "__main__":
    main()
