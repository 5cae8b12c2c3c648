"""The answer stage: the project's chain against the raw ``xllamacpp.Server`` call on the same requests.

The requests are captured from the chain itself: a recorder stands in for the server inside the chat
model, so whatever the chain sends (system prompt, examples, passages, question) is what the raw call
sends. Both sides use the same server, take turns going first, and start from the same cache state:
before each measured call the fixed prefix (every message but the last) is evaluated with a placeholder
question, so both find the system prompt and examples in llama.cpp's cache.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

from tqdm import tqdm

from assistant.bench.corpus import questions
from assistant.bench.measure import Row, ratio
from assistant.bench.stages import Workspace, ratio_limit
from assistant.types import Answer, Token

DRY_REPLY = "NOT IN DOCUMENTS"


class RecordingServer:
    """Wraps an ``xllamacpp.Server``: records chat requests; with ``dry`` set, refuses at once."""

    def __init__(self, server: Any) -> None:
        self.server = server
        self.requests: list[dict[str, Any]] = []
        self.dry = False

    def handle_chat_completions(self, request: dict[str, Any], callback: Any = None) -> Any:
        self.requests.append(request)
        if self.dry:
            if request.get("stream"):
                callback({"choices": [{"delta": {"content": DRY_REPLY}}]})
                return None
            return {"choices": [{"message": {"content": DRY_REPLY}}]}
        if callback is None:
            return self.server.handle_chat_completions(request)
        return self.server.handle_chat_completions(request, callback)


def warm_prefix(server: Any, request: dict[str, Any]) -> None:
    """Evaluate the fixed part of the prompt (all messages but the last), so llama.cpp's cache holds it."""
    messages = [*request["messages"][:-1], {"role": "user", "content": "Ready?"}]
    slot = request.get("id_slot", -1)  # the slot the chat model pinned the request to
    server.handle_chat_completions(
        {"messages": messages, "max_tokens": 1, "temperature": 0.0, "id_slot": slot}
    )


def run_project(chain: Any, question: str, steps: dict[str, list[float]]) -> tuple[float, float, str]:
    """(seconds to the first token, seconds to the checked answer, draft) through the project's chain.

    The chain's own step timings (retrieval with re-ranking, citation check) are appended to ``steps``.
    """
    started, first, draft = time.perf_counter(), None, ""
    for event in chain.stream(question):
        if isinstance(event, Token) and event.text and first is None:
            first = time.perf_counter() - started
        if isinstance(event, Answer):
            draft = event.draft
            for step in ("retrieve_s", "check_s"):
                steps.setdefault(step, []).append(event.timings.get(step, 0.0))
    total = time.perf_counter() - started
    return first if first is not None else total, total, draft


def run_raw(server: Any, request: dict[str, Any]) -> tuple[float, float, str]:
    """(seconds to the first token, seconds to the last, text) of the raw streamed chat completion."""
    started = time.perf_counter()
    first: list[float] = []
    text: list[str] = []

    def on_chunk(chunk: dict[str, Any]) -> bool:
        delta = (chunk.get("choices") or [{}])[0].get("delta", {}).get("content")
        if delta:
            if not first:
                first.append(time.perf_counter() - started)
            text.append(delta)
        return False

    server.handle_chat_completions({**request, "stream": True}, on_chunk)
    total = time.perf_counter() - started
    return first[0] if first else total, total, "".join(text)


def capture_requests(chain: Any, recorder: RecordingServer, wanted: int) -> list[tuple[str, dict[str, Any]]]:
    """Questions the chain sends to the model (not refused by the relevance gate), with their requests."""
    cases = []
    recorder.dry = True
    try:
        for question in questions(wanted * 5, seed=61):
            recorder.requests.clear()
            chain.ask(question)
            if recorder.requests:
                cases.append((question, recorder.requests[-1]))
            if len(cases) == wanted:
                break
    finally:
        recorder.dry = False
    return cases


def answer_stage(ws: Workspace, n_questions: int) -> list[Row]:
    chain = ws.assistant.chain  # loads the model
    engine = getattr(chain.model, "engine", None)
    server = getattr(engine, "server", None)
    if server is None or not hasattr(server, "handle_chat_completions"):
        return [skipped(ws.size, "the chat model is not the embedded llama.cpp model")]
    recorder = RecordingServer(server)
    engine.server = recorder
    try:
        cases = capture_requests(chain, recorder, n_questions)
    finally:
        engine.server = server
    if not cases:
        return [skipped(ws.size, "every benchmark question was refused before the model was called")]
    project: list[tuple[float, float]] = []
    raw: list[tuple[float, float]] = []
    same = 0
    steps: dict[str, list[float]] = {}
    for i, (question, request) in enumerate(tqdm(cases, desc=f"{ws.size:,}: answers", unit="question")):
        outputs = {}
        for side in ("project", "raw") if i % 2 == 0 else ("raw", "project"):
            warm_prefix(server, request)
            if side == "project":
                first, total, outputs[side] = run_project(chain, question, steps)
                project.append((first, total))
            else:
                first, total, outputs[side] = run_raw(server, request)
                raw.append((first, total))
        same += outputs["project"] == outputs["raw"]
    note = (
        f"median of {len(cases)} questions; identical output in {same}/{len(cases)}; warm fixed prefix; "
        f"in the chain: retrieval + re-ranking {statistics.median(steps['retrieve_s']):.2f} s, "
        f"citation check {statistics.median(steps['check_s']):.2f} s"
    )
    rows = []
    for index, metric in ((0, "time to first token"), (1, "total time")):
        mine = statistics.median(t[index] for t in project)
        theirs = statistics.median(t[index] for t in raw)
        rows.append(
            Row(
                ws.size,
                "answer",
                metric,
                "s",
                round(mine, 4),
                round(theirs, 4),
                ratio(mine, theirs),
                ratio_limit(ws.size),
                note=note,
            )
        )
    return rows


def skipped(size: int, why: str, stage: str = "answer") -> Row:
    return Row(size, stage, "skipped", "", float("nan"), note=why)
