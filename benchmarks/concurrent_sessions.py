"""Eight chat sessions at once against a real `assistant serve` (embedded model), through the Gradio queue.

    .venv/bin/python benchmarks/concurrent_sessions.py [--sessions 8] [--json PATH]

Starts `assistant serve` in a subprocess on a free loopback port with a temporary data folder and the seed
article, waits until the language model is loaded and primed, then starts every session at once: each
asks a question and, in the same conversation, a follow-up (gradio_client, one Client per session). Prints
per call how long it waited in the queue, when its first words came, when it finished, its queue rank
on arrival, errors, and the throughput (answers per minute of wall time).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "corpus" / "meeting-article.md"
CONVERSATIONS = [
    ("Which former prime minister is mentioned?", "What did he use his relationship with Trump for?"),
    ("Which technologies were named for joint ventures?", "And which other areas of cooperation?"),
    ("What commitments are U.S. officials seeking from Japan?", "In which sector especially?"),
    ("What does Prime Minister Ishiba hope to achieve?", "What does he need to navigate?"),
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServeProcess:
    """`assistant serve` in a subprocess; its output is collected so readiness can be seen."""

    def __init__(self, data: Path, port: int) -> None:
        corpus = data / "corpus"
        corpus.mkdir(parents=True)
        shutil.copy(SEED, corpus / SEED.name)
        env = {
            **os.environ,
            "ASSISTANT_CORPUS_DIR": str(corpus),
            "ASSISTANT_DATA_DIR": str(data / "data"),
            "HF_HUB_OFFLINE": "1",
        }
        self.lines: list[str] = []
        self.process = subprocess.Popen(
            [sys.executable, "-m", "assistant.cli", "serve", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip())

    def wait_ready(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while not any("Language model ready" in line for line in self.lines):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("assistant serve did not get ready:\n" + "\n".join(self.lines[-20:]))
            time.sleep(0.5)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()


def timed_call(client: Any, message: str, t0: float) -> dict[str, Any]:
    """One /chat call, streamed: queue wait, first words, total; all relative to its own submission."""
    from gradio_client.utils import Status

    submitted = time.perf_counter()
    job = client.submit(message=message, api_name="/chat")
    started = first = None
    rank: int | None = None
    seen = 0
    while not job.done():
        status = job.status()
        if status.code == Status.IN_QUEUE and status.rank is not None and rank is None:
            rank = status.rank
        if started is None and status.code in (Status.PROCESSING, Status.ITERATING):
            started = time.perf_counter()
        outputs = job.outputs()
        if first is None and len(outputs) > seen and any(o.get("draft") for o in outputs):
            first = time.perf_counter()
        seen = len(outputs)
        time.sleep(0.05)
    result = job.result()  # raises on an error
    done = time.perf_counter()
    return {
        "message": message,
        "submitted_at_s": submitted - t0,
        "queue_rank": rank,
        "wait_s": (started or done) - submitted,
        "first_token_s": (first - submitted) if first else None,
        "total_s": done - submitted,
        "refused": result.get("refused"),
        "text": result.get("text"),
        "standalone": result.get("standalone_question"),
        "server_timings": result.get("timings"),
    }


def session(url: str, number: int, t0: float) -> dict[str, Any]:
    from gradio_client import Client

    question, follow_up = CONVERSATIONS[number % len(CONVERSATIONS)]
    calls: list[dict[str, Any]] = []
    try:
        client = Client(url, verbose=False)
        for message in (question, follow_up):
            calls.append(timed_call(client, message, t0))
        return {"session": number + 1, "calls": calls, "error": None}
    except Exception as err:  # reported, not raised: the point is to count them
        return {"session": number + 1, "calls": calls, "error": f"{type(err).__name__}: {err}"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=8)
    parser.add_argument("--ready-timeout", type=float, default=600, help="seconds to wait for the model")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    os.environ["HF_HUB_OFFLINE"] = "1"
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="concurrent-sessions-") as tmp:
        server = ServeProcess(Path(tmp), port)
        try:
            server.wait_ready(args.ready_timeout)
            url = f"http://127.0.0.1:{port}/"
            load = os.getloadavg()
            t0 = time.perf_counter()
            with ThreadPoolExecutor(args.sessions) as pool:
                results = list(pool.map(lambda n: session(url, n, t0), range(args.sessions)))
            wall = time.perf_counter() - t0
        finally:
            server.stop()
    print(f"{args.sessions} sessions x 2 calls; load average at start {load[0]:.2f}; {os.cpu_count()} CPUs")
    print(f"{'session':>7} {'call':<52} {'rank':>4} {'wait':>7} {'first':>7} {'total':>7}  answer")
    answers = 0
    for result in results:
        for call in result["calls"]:
            answers += 1
            first = f"{call['first_token_s']:6.1f}s" if call["first_token_s"] is not None else "      -"
            rank = "" if call["queue_rank"] is None else str(call["queue_rank"])
            text = ("REFUSED " if call["refused"] else "") + (call["text"] or "")[:60]
            print(
                f"{result['session']:>7} {call['message'][:52]:<52} {rank:>4} {call['wait_s']:6.1f}s "
                f"{first} {call['total_s']:6.1f}s  {text}"
            )
        if result["error"]:
            print(f"{result['session']:>7} ERROR {result['error']}")
    errors = sum(1 for r in results if r["error"])
    totals = [c["total_s"] for r in results for c in r["calls"]]
    firsts = [c["first_token_s"] for r in results for c in r["calls"] if c["first_token_s"] is not None]
    print(
        f"\nanswers {answers}, errors {errors}, wall {wall:.1f} s, "
        f"throughput {answers / wall * 60:.1f} answers/min"
    )
    if totals:
        print(
            f"per call: total p50 {statistics.median(totals):.1f} s, max {max(totals):.1f} s; "
            f"first words p50 {statistics.median(firsts) if firsts else float('nan'):.1f} s"
        )
    if args.json:
        args.json.write_text(
            json.dumps({"wall_s": wall, "load_average": load, "sessions": results}, indent=2)
        )


if __name__ == "__main__":
    main()
