"""Time to first token of a first question, a follow-up and the next fresh question on the embedded model,
with the prompt tokens llama.cpp read anew and found in its cache (a slot per prompt's fixed part).

    .venv/bin/python benchmarks/followup_ttft.py [--rounds 2] [--slots N] [--json PATH]

The model is loaded and primed the way `assistant serve` primes it, then asks, ``--rounds`` times: (1) a
first question, (2) a follow-up to it (condense call + answer call), (3) a fresh question. "first token"
is measured from the call to the first streamed answer token, as the user sees it; "tokens read" and
"tokens cached" are the prompt tokens llama.cpp decoded and reused for the step (both calls of a
follow-up; the one-token calls that cut a slot back to its fixed part included), which do not depend on
the machine's load. ``--slots`` sets ASSISTANT_LLM_SLOTS (with one slot, the condense and answer prompts take
turns in it and each is read again).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from assistant.config import Settings
from assistant.factory import build_assistant
from assistant.llm import EmbeddedChatModel
from assistant.rag import RagChain, Turn
from assistant.types import Answer, Token
from assistant.webapp import ModelWarmup

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "corpus" / "meeting-article.md"
STEPS: list[tuple[str, str, bool]] = [  # (label, question, follows the previous answer)
    ("first question", "Which former prime minister is mentioned?", False),
    ("follow-up", "What did he use his relationship with Trump for?", True),
    ("next fresh question", "Which technologies were named for joint ventures?", False),
]


class CountingServer:
    """Wraps the model's ``xllamacpp.Server``: adds up the prompt tokens read and cached per call."""

    def __init__(self, server: Any) -> None:
        self.server = server
        self.read = self.cached = 0

    def _count(self, timings: Any) -> None:
        if isinstance(timings, dict):
            self.read += int(timings.get("prompt_n", 0))
            self.cached += int(timings.get("cache_n", 0))

    def handle_chat_completions(self, request: dict[str, Any], callback: Any = None) -> Any:
        if callback is None:
            result = self.server.handle_chat_completions(request)
            self._count(result.get("timings"))
            return result

        def counted(chunk: dict[str, Any]) -> bool:
            self._count(chunk.get("timings"))
            return bool(callback(chunk))

        return self.server.handle_chat_completions(request, counted)


def ask(chain: RagChain, counter: CountingServer, question: str, history: list[Turn]) -> dict[str, Any]:
    counter.read = counter.cached = 0
    started = time.perf_counter()
    first: float | None = None
    answer: Answer | None = None
    for event in chain.stream(question, history):
        if isinstance(event, Token):
            first = first if first is not None else time.perf_counter() - started
        else:
            answer = event
    assert answer is not None
    return {
        "tokens_read": counter.read,
        "tokens_cached": counter.cached,
        "first_token_s": first,
        "total_s": time.perf_counter() - started,
        "condense_s": answer.timings.get("condense_s", 0.0),
        "standalone": answer.standalone_question,
        "answer": answer.text,
    }


def run_round(chain: RagChain, counter: CountingServer, round_no: int) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    history: list[Turn] = []
    for label, question, follows in STEPS:
        result = ask(chain, counter, question, history if follows else [])
        history = [
            {"role": "user", "content": question},
            {"role": "assistant", "content": result["answer"]},
        ]
        rows.append({"round": round_no, "step": label, **result})
        print(
            f"  round {round_no} {label:<20} first token {result['first_token_s'] or float('nan'):6.2f} s  "
            f"total {result['total_s']:6.2f} s  prompt tokens read {result['tokens_read']}, "
            f"cached {result['tokens_cached']}",
            file=sys.stderr,
            flush=True,
        )
    return rows


def table(rows: list[dict[str, Any]]) -> str:
    def median(step: str, key: str) -> float:
        values = [r[key] for r in rows if r["step"] == step and r[key] is not None]
        return statistics.median(values) if values else float("nan")

    head = f"{'step':<22}{'first token':>14}{'total':>10}{'tokens read':>14}{'tokens cached':>16}"
    lines = [head, "-" * len(head)]
    for label, _, _ in STEPS:
        lines.append(
            f"{label:<22}{median(label, 'first_token_s'):13.2f}s{median(label, 'total_s'):9.2f}s"
            f"{median(label, 'tokens_read'):14.0f}{median(label, 'tokens_cached'):16.0f}"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=2, help="question/follow-up/fresh rounds")
    parser.add_argument("--slots", type=int, help="llama.cpp slots (default: the setting)")
    parser.add_argument("--json", type=Path, help="write all measurements here")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    load = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="followup-ttft-") as tmp:
        corpus = Path(tmp) / "corpus"
        corpus.mkdir()
        shutil.copy(SEED, corpus / SEED.name)
        settings = Settings(corpus_dir=corpus, data_dir=Path(tmp) / "data")
        if args.slots:
            settings = settings.model_copy(update={"llm_slots": args.slots})
        assistant = build_assistant(settings)
        assistant.ingest()
        started = time.perf_counter()
        chain = assistant.chain
        print(f"model loaded in {time.perf_counter() - started:.1f} s", file=sys.stderr)
        model = chain.model
        assert isinstance(model, EmbeddedChatModel)
        counter = CountingServer(model.engine.server)
        model.engine.server = counter
        ModelWarmup._prime(chain)
        rows = [row for round_no in range(1, args.rounds + 1) for row in run_round(chain, counter, round_no)]
    print(f"load average before: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; after: {os.getloadavg()[0]:.2f}")
    print(f"median of {args.rounds} rounds; {settings.llm_slots} slots; {os.cpu_count()} CPUs\n")
    print(table(rows))
    if args.json:
        args.json.write_text(
            json.dumps({"load_average": load, "slots": settings.llm_slots, "rows": rows}, indent=2)
        )


if __name__ == "__main__":
    main()
