"""How long does a chat question wait for its first words while the test question set runs in the web app?

A few questions are asked alone (idle), then an evaluation run is started in the background (as the
Evaluation tab does) and the same questions are asked again during it, each after a pause, through the
same chat-priority gate the web chat uses. Prints the first-token and total times, idle vs during the run.

    ASSISTANT_DATA_DIR=/tmp/cde .venv/bin/python benchmarks/chat_during_eval.py [--questions 4]
"""

from __future__ import annotations

import argparse
import statistics
import time

from assistant.config import Settings
from assistant.eval_runs import ALL, ChatPriority
from assistant.factory import build_assistant, build_eval_runs
from assistant.service import Assistant
from assistant.types import Answer, Token

QUESTIONS = [
    "Which technologies were named for joint ventures?",
    "What commitments are U.S. officials seeking from Japan?",
    "Which former prime minister is mentioned?",
    "What does Prime Minister Ishiba hope to achieve?",
    "What is the top item on the agenda?",
    "Which country could join trilateral meetings?",
]


def ask(priority: ChatPriority, assistant: Assistant, question: str) -> tuple[float, float]:
    started = time.perf_counter()
    first = None
    with priority.chatting():
        for event in assistant.stream(question):
            if isinstance(event, Token) and first is None:
                first = time.perf_counter() - started
            if isinstance(event, Answer):
                break
    total = time.perf_counter() - started
    return (first if first is not None else total), total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=4, help="chat questions asked each way")
    parser.add_argument("--pause", type=float, default=6.0, help="seconds between chat questions")
    args = parser.parse_args()
    assistant = build_assistant(Settings())
    assistant.ingest()
    assistant.chain  # noqa: B018  (loads the model before the clock starts)
    runs = build_eval_runs(assistant)
    asked = QUESTIONS[: args.questions]
    idle = [ask(runs.priority, assistant, q) for q in asked]
    runs.start(ALL)
    time.sleep(args.pause)
    during = []
    for question in asked:
        during.append(ask(runs.priority, assistant, question))
        status = runs.status()
        print(f"  during the run ({status.done}/{status.total} cases): first words {during[-1][0]:.1f} s")
        time.sleep(args.pause)
    runs.cancel()
    runs.wait()
    for name, rows in (("idle", idle), ("during an evaluation run", during)):
        firsts, totals = [r[0] for r in rows], [r[1] for r in rows]
        print(
            f"{name:<26} first words p50 {statistics.median(firsts):.1f} s (max {max(firsts):.1f}), "
            f"answer p50 {statistics.median(totals):.1f} s (max {max(totals):.1f}), n={len(rows)}"
        )


if __name__ == "__main__":
    main()
