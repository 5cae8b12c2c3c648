"""Does the same question get the same answer? Each single-turn case of the question set is asked once (the
model's cache holds the previous question), then again at once (the cache holds this very prompt), and with
``--concurrent N`` N more times at once. The answer texts are compared; the changed cases are listed.

    ASSISTANT_DATA_DIR=/tmp/stab .venv/bin/python benchmarks/answer_stability.py [--concurrent 8] [--limit 40]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from assistant.config import Settings
from assistant.evalset import load_eval_set
from assistant.factory import build_assistant


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrent", type=int, default=0, help="also ask N copies at once")
    parser.add_argument("--limit", type=int, default=0, help="only the first N cases")
    parser.add_argument("--questions", type=Path, default=Path("eval/questions.yaml"))
    parser.add_argument("--json", type=Path, help="write every case's answers here")
    args = parser.parse_args()
    assistant = build_assistant(Settings())
    assistant.ingest()
    assistant.chain  # noqa: B018  (loads the model before the clock starts)
    cases = [c for c in load_eval_set(args.questions) if not c.setup]
    cases = cases[: args.limit] if args.limit else cases
    rows, started = [], time.perf_counter()
    for i, case in enumerate(cases, start=1):
        texts = [assistant.ask(case.question).text, assistant.ask(case.question).text]
        if args.concurrent:
            with ThreadPoolExecutor(args.concurrent) as pool:
                texts += pool.map(lambda q: assistant.ask(q).text, [case.question] * args.concurrent)
        changed = len(set(texts)) > 1
        rows.append({"id": case.id, "changed": changed, "answers": sorted(set(texts))})
        seconds = time.perf_counter() - started
        verdict = "CHANGED" if changed else "same"
        print(f"{i}/{len(cases)} {case.id}: {verdict} ({seconds:.0f} s)", file=sys.stderr)
    changed = [r["id"] for r in rows if r["changed"]]
    print(f"{len(changed)} of {len(rows)} questions got a different answer when asked again: {changed}")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
