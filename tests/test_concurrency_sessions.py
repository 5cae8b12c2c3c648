"""Eight chat sessions at once through the Gradio queue (the /chat API): all complete, each with its own
conversation, and the model answers one at a time. The LLM is not under test: a keyed fake stands in."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult

os.environ.setdefault("HF_HUB_OFFLINE", "1")
from gradio_client import Client

from assistant import webapp
from assistant.ui import build_ui
from tests.conftest import AssistantFactory

SESSIONS = 8
# first question -> (answer the fake gives, the standalone question the fake makes of the follow-up)
CASES: dict[str, tuple[str, str]] = {
    "Which technologies were named for joint ventures?": (
        "Joint ventures are promoted in AI and semiconductors [1].",
        "Where do U.S. officials want Japanese investments to go?",
    ),
    "Which former prime minister is mentioned?": (
        "Former Prime Minister Shinzo Abe is mentioned [1].",
        "What is the worry about tariffs?",
    ),
    "Where do U.S. officials want Japanese investments to go?": (
        "Officials hinted at seeking investments in U.S. manufacturing [1].",
        "Which technologies were named for joint ventures?",
    ),
    "What is the worry about tariffs?": (
        "There is a need to reassure that the U.S. will refrain from imposing unfavorable tariffs [1].",
        "Which former prime minister is mentioned?",
    ),
}
FOLLOW_UP = "And what else did they want?"


class KeyedChatModel(BaseChatModel):
    """Answers by the question in the prompt, streams word by word, and records how many run at once."""

    delay: float = 0.02
    active: int = 0
    most_active: int = 0
    calls: int = 0
    guard: Any = None

    @property
    def _llm_type(self) -> str:
        return "keyed-fake"

    def _reply(self, messages: list[BaseMessage]) -> str:
        system, last = messages[0].text, messages[-1].text
        if system.startswith("You rewrite a follow-up question"):  # condense: look at the conversation
            conversation = last.split("Follow-up question:")[0]
            return next(standalone for q, (_, standalone) in CASES.items() if q in conversation)
        question = last.rsplit("Question:", 1)[-1].strip().splitlines()[0]  # notes may follow it
        return CASES[question][0] if question in CASES else "NOT IN DOCUMENTS"

    def _generate(
        self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kw: Any
    ) -> ChatResult:
        text = "".join(chunk.text for chunk in self._stream(messages))
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=text))])

    def _stream(
        self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kw: Any
    ) -> Iterator[ChatGenerationChunk]:
        assert self.guard is not None
        with self.guard:
            self.active += 1
            self.calls += 1
            self.most_active = max(self.most_active, self.active)
        try:
            for word in self._reply(messages).split(" "):
                time.sleep(self.delay)
                yield ChatGenerationChunk(message=AIMessageChunk(content=word + " "))
        finally:
            with self.guard:
                self.active -= 1


def claim(text: str) -> str:
    """The answer without its citation markers (the citation check may renumber them)."""
    return text.split("[")[0].strip()


def run_session(url: str, number: int) -> dict[str, Any]:
    question = list(CASES)[number % len(CASES)]
    client = Client(url, verbose=False)
    started = time.perf_counter()
    first = client.predict(message=question, api_name="/chat")
    second = client.predict(message=FOLLOW_UP, api_name="/chat")
    return {"question": question, "first": first, "second": second, "seconds": time.perf_counter() - started}


@pytest.fixture
def served_url(make_assistant: AssistantFactory, seed_corpus: Path) -> Iterator[tuple[str, KeyedChatModel]]:
    model = KeyedChatModel(guard=threading.Lock())
    assistant = make_assistant(chat_model=model)
    assistant.ingest()
    demo = build_ui(assistant)
    from tests.conftest import free_port

    _, url, _ = webapp.launch(demo, "127.0.0.1", free_port(), prevent_thread_lock=True, quiet=True)
    try:
        yield url, model
    finally:
        demo.close()


def test_eight_sessions_at_once_each_get_their_own_answers(served_url: tuple[str, KeyedChatModel]) -> None:
    url, model = served_url
    started = time.perf_counter()
    with ThreadPoolExecutor(SESSIONS) as pool:
        results = list(pool.map(lambda n: run_session(url, n), range(SESSIONS)))
    took = time.perf_counter() - started
    for result in results:
        answer, standalone = CASES[result["question"]]
        first, second = result["first"], result["second"]
        assert first["done"] and not first["refused"] and first["outcome"] == "answered", first
        assert claim(first["text"]) == claim(answer), first
        # the follow-up was condensed from this session's own conversation, and answered
        assert second["standalone_question"] == standalone, second
        assert not second["refused"] and claim(second["text"]) == claim(CASES[standalone][0]), second
        assert [m["content"] for m in second["history"]][::2] == [result["question"], FOLLOW_UP]
    assert model.calls == SESSIONS * 3  # answer, condense, answer per session
    assert model.most_active == 1  # the Gradio queue runs one answer at a time (one embedded model)
    print(
        f"\n{SESSIONS} sessions, {2 * SESSIONS} answers in {took:.1f} s ({2 * SESSIONS / took * 60:.0f}/min)"
    )
