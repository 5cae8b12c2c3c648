"""Time to first token of a first question, a follow-up and the next fresh question, with and without the
prefix cache of the embedded model (assistant/prefix_cache.py), on the same loaded model in one run.

    .venv/bin/python benchmarks/followup_ttft.py [--modes off,on] [--rounds 2] [--json PATH]

Each mode starts from a reset model, primed the way `assistant serve` primes it, then asks, ``--rounds``
times: (1) a first question, (2) a follow-up to it (condense call + answer call), (3) a fresh question;
modes alternate round by round. "first token" is measured from the call to the first streamed answer
token, as the user sees it; "tokens read" is the prompt tokens llama.cpp decoded for the step (both
calls of a follow-up), which does not depend on the machine's load.
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
from assistant.llm import LlamaCppChatModel
from assistant.prefix_cache import PrefixCache
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


def prompt_tokens_evaluated(model: LlamaCppChatModel) -> int:
    """Prompt tokens llama.cpp has decoded since the last reset of its counters (load-independent)."""
    import llama_cpp

    return int(llama_cpp.llama_perf_context(model.llama._ctx.ctx).n_p_eval)


def ask(chain: RagChain, question: str, history: list[Turn]) -> dict[str, Any]:
    import llama_cpp

    model = chain.model
    assert isinstance(model, LlamaCppChatModel)
    llama_cpp.llama_perf_context_reset(model.llama._ctx.ctx)
    started = time.perf_counter()
    first: float | None = None
    answer: Answer | None = None
    for event in chain.stream(question, history):
        if isinstance(event, Token):
            first = first if first is not None else time.perf_counter() - started
        else:
            answer = event
    assert answer is not None
    use = model.last_prefix_use
    return {
        "evaluated_tokens": prompt_tokens_evaluated(model),
        "first_token_s": first,
        "total_s": time.perf_counter() - started,
        "condense_s": answer.timings.get("condense_s", 0.0),
        "standalone": answer.standalone_question,
        "answer": answer.text,
        "prompt_tokens": use.prompt_tokens if use else None,
        "reused_tokens": use.reused_tokens if use else None,
    }


def run_round(chain: RagChain, cache: bool, round_no: int) -> list[dict[str, Any]]:
    model = chain.model
    assert isinstance(model, LlamaCppChatModel)
    model.prefix_cache = PrefixCache() if cache else None
    model.last_prefix_use = None
    model.llama.reset()  # nothing evaluated: both modes start cold, then are primed like `serve`
    ModelWarmup._prime(chain)
    rows: list[dict[str, Any]] = []
    history: list[Turn] = []
    for label, question, follows in STEPS:
        result = ask(chain, question, history if follows else [])
        history = [
            {"role": "user", "content": question},
            {"role": "assistant", "content": result["answer"]},
        ]
        rows.append({"mode": "on" if cache else "off", "round": round_no, "step": label, **result})
        print(
            f"  cache {rows[-1]['mode']:>3} round {round_no} {label:<20} "
            f"first token {result['first_token_s'] or float('nan'):6.2f} s  "
            f"total {result['total_s']:6.2f} s  prompt tokens evaluated {result['evaluated_tokens']}",
            file=sys.stderr,
            flush=True,
        )
    return rows


def table(rows: list[dict[str, Any]], modes: list[str]) -> str:
    def median(mode: str, step: str, key: str) -> float:
        values = [r[key] for r in rows if r["mode"] == mode and r["step"] == step and r[key] is not None]
        return statistics.median(values) if values else float("nan")

    head = f"{'step':<22}" + "".join(
        f"{'first token, cache ' + m:>24}{'total, cache ' + m:>18}{'tokens read, ' + m:>18}" for m in modes
    )
    lines = [head, "-" * len(head)]
    for label, _, _ in STEPS:
        cells = "".join(
            f"{median(m, label, 'first_token_s'):23.2f}s{median(m, label, 'total_s'):17.2f}s"
            f"{median(m, label, 'evaluated_tokens'):18.0f}"
            for m in modes
        )
        lines.append(f"{label:<22}{cells}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--modes", default="off,on", help="prefix cache modes to run, in order: off,on")
    parser.add_argument("--rounds", type=int, default=2, help="question/follow-up/fresh rounds per mode")
    parser.add_argument("--json", type=Path, help="write all measurements here")
    args = parser.parse_args()
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    if not set(modes) <= {"on", "off"}:
        parser.error("--modes takes on and/or off")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    load = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="followup-ttft-") as tmp:
        corpus = Path(tmp) / "corpus"
        corpus.mkdir()
        shutil.copy(SEED, corpus / SEED.name)
        settings = Settings(corpus_dir=corpus, data_dir=Path(tmp) / "data")
        assistant = build_assistant(settings)
        assistant.ingest()
        started = time.perf_counter()
        chain = assistant.chain
        print(f"model loaded in {time.perf_counter() - started:.1f} s", file=sys.stderr)
        rows = [  # modes alternate round by round, so a change in machine load hits both alike
            row
            for round_no in range(1, args.rounds + 1)
            for mode in modes
            for row in run_round(chain, mode == "on", round_no)
        ]
    print(f"load average before: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; after: {os.getloadavg()[0]:.2f}")
    print(f"median of {args.rounds} rounds; {os.cpu_count()} CPUs\n")
    print(table(rows, modes))
    same = all(
        a["answer"] == b["answer"]
        for a, b in zip(
            [r for r in rows if r["mode"] == "off"], [r for r in rows if r["mode"] == "on"], strict=False
        )
    )
    if len(modes) == 2:
        print(f"\nanswers identical with and without the cache: {same}")
    if args.json:
        args.json.write_text(json.dumps({"load_average": load, "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
