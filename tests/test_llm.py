from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest
from langchain_core.messages import HumanMessage, SystemMessage

from assistant import llm
from assistant.config import Settings
from assistant.errors import ModelError
from tests.conftest import AssistantFactory


def test_assembled_model_is_verified(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A corrupt part is caught by the size/sha256 check and leaves no half file behind."""
    fake_parts = tmp_path / "parts"
    fake_parts.mkdir()
    for i in range(1, 3):
        (fake_parts / f"part{i:02d}.bin").write_bytes(b"x" * 10)
    monkeypatch.setattr(llm, "GGUF_PARTS", 2)
    monkeypatch.setattr(llm, "_part_path", lambda i: fake_parts / f"part{i:02d}.bin")
    with pytest.raises(ModelError, match="corrupt"):
        llm.assemble_gguf(tmp_path / "cache")
    assert list((tmp_path / "cache").iterdir()) == []


def test_missing_part_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(llm, "_part_path", lambda i: tmp_path / "nowhere.bin")
    with pytest.raises(ModelError, match="missing"):
        llm.assemble_gguf(tmp_path / "cache")


def test_openai_backend_needs_a_url() -> None:
    with pytest.raises(ModelError, match="ASSISTANT_LLM_BASE_URL"):
        llm.load_openai(Settings(llm_backend="openai"))


@pytest.fixture(scope="module")
def openai_server() -> Iterator[str]:
    """llama.cpp's OpenAI-compatible HTTP server (xllamacpp, in this process) with the packaged GGUF."""
    import xllamacpp

    params = xllamacpp.CommonParams()
    params.model.path = str(llm.assemble_gguf(Settings().cache_dir))
    params.n_ctx = 4096
    params.model_alias = {"local"}  # the name the client sends
    params.load_mode = xllamacpp.llama_load_mode.LLAMA_LOAD_MODE_NONE
    params.verbosity = -1
    server = xllamacpp.Server(params)  # listens on a free port of 127.0.0.1
    yield f"{server.listening_address}/v1"
    del server  # stops the HTTP server and the engine


@pytest.mark.llm
@pytest.mark.server
def test_openai_compatible_server_answers_with_citations(
    make_assistant: AssistantFactory, seed_corpus: Path, openai_server: str
) -> None:
    model = llm.load_openai(Settings(llm_backend="openai", llm_base_url=openai_server))
    assistant = make_assistant(chat_model=model)
    assistant.ingest()
    answer = assistant.ask("Which technologies were named for joint ventures?")
    assert not answer.refused, answer
    assert "semiconductor" in answer.text.lower()
    assert any("AI and semiconductors" in c.passage for c in answer.citations)


# --- the embedded model's prompt cache and slots, on the real model --------------------------------------
PARAGRAPHS = [
    "Reflecting on the strategies of former Prime Minister Shinzo Abe, who utilized his relationship with "
    "Trump to safeguard Japanese interests, Ishiba faces the task of cultivating a similarly productive "
    "partnership.",
    "Prime Minister Ishiba aims to solidify a personal rapport with President Trump.",
    "The United States is keen on fostering a new era of U.S.-Japan relations. This entails ongoing "
    "collaboration to bolster cybersecurity capabilities, expand space cooperation, and promote joint "
    "ventures in critical technologies such as AI and semiconductors.",
]


def _passages(order: list[int]) -> str:
    return "\n\n".join(f"[{n}] {PARAGRAPHS[i]}" for n, i in enumerate(order, start=1))


@pytest.mark.llm
def test_the_answer_prompt_is_not_read_again_after_a_condense_call(real_llm: llm.EmbeddedChatModel) -> None:
    """A question and its follow-up: answer, condense, answer. The second answer call finds the answer
    prompt's fixed part (system message, examples) in its own slot after the condense call."""
    from langchain_core.output_parsers import StrOutputParser

    from assistant.prompts import load_prompt

    model = llm.EmbeddedChatModel(engine=real_llm.engine, max_tokens=48)
    prompts = Settings().resolved_prompts_dir()
    answer = load_prompt(prompts, "answer").template() | model | StrOutputParser()
    condense = load_prompt(prompts, "condense").template() | model | StrOutputParser()
    first = answer.invoke(
        {"passages": _passages([0, 1]), "question": "Which former prime minister is mentioned?"}
    )
    assert "abe" in first.lower(), first
    history = f"User: Which former prime minister is mentioned?\nAssistant: {first}"
    condense.invoke({"history": history, "question": "What did he use his relationship with Trump for?"})
    again = answer.invoke(
        {
            "passages": _passages([0, 2, 1]),
            "question": "What did Shinzo Abe use his relationship with Trump for?",
        }
    )
    assert "safeguard" in again.lower(), again
    use = model.last_prompt_use
    assert use is not None and use.cached > use.tokens / 2 and use.read < use.tokens / 2, use
    print(f"\nanswer call after condense: {use.cached} of {use.tokens} prompt tokens from the cache")


QUESTIONS = ["Name three colours of the rainbow.", "Which planet is nearest to the sun?"]


def _messages(question: str) -> list[Any]:
    return [SystemMessage("You answer in one short sentence."), HumanMessage(question)]


@pytest.mark.llm
def test_the_same_question_gets_the_same_words_however_it_was_asked_before(
    real_llm: llm.EmbeddedChatModel,
) -> None:
    """Alone, asked again at once (llama.cpp would re-read only its last token), after another question
    sharing its opening words, after another prompt took the slot, and from two threads at once."""
    model = llm.EmbeddedChatModel(engine=real_llm.engine, max_tokens=24)
    other_prompt = [SystemMessage("You translate into French."), HumanMessage("Good morning.")]

    def ask(question: str) -> str:
        return "".join(c.text for c in model.stream(_messages(question)))

    first = [ask(q) for q in QUESTIONS]
    assert "mercury" in first[1].lower(), first
    again = [ask(QUESTIONS[0]), ask(QUESTIONS[0]), ask(QUESTIONS[1])]
    for _ in range(real_llm.engine.slots):  # every slot taken by other prompts: the fixed part is read anew
        model.invoke([SystemMessage(f"You translate into French ({_})."), HumanMessage("Good morning.")])
    model.invoke(other_prompt)
    again.append(ask(QUESTIONS[1]))
    texts: dict[int, str] = {}
    readers = [threading.Thread(target=lambda i=i: texts.update({i: ask(QUESTIONS[i])})) for i in range(2)]
    for reader in readers:
        reader.start()
    for reader in readers:
        reader.join(timeout=600)
    assert again == [first[0], first[0], first[1], first[1]]
    assert [texts.get(0), texts.get(1)] == first


@pytest.mark.llm
def test_a_prompt_longer_than_the_context_is_a_model_error(real_llm: llm.EmbeddedChatModel) -> None:
    messages = _messages("word " * 5000)
    with pytest.raises(ModelError, match=r"longer than the model's context \(4096 tokens"):
        real_llm.invoke(messages)
    with pytest.raises(ModelError, match="ASSISTANT_N_CTX"):
        list(real_llm.stream(messages))


# --- the chat model's plumbing, on a stand-in server ---------------------------------------------------
class WordsServer:
    """Stands in for ``xllamacpp.Server``: one slot; streams words until the callback returns True."""

    def __init__(self, words: int = 2000) -> None:
        self.slot = threading.Lock()
        self.words = words
        self.stopped = threading.Event()

    def handle_chat_completions(self, request: dict[str, Any], callback: Any = None) -> Any:
        if not self.slot.acquire(timeout=5):
            raise RuntimeError("the slot is still taken")
        try:
            if not request.get("stream"):
                return {
                    "choices": [{"message": {"content": "Done."}}],
                    "timings": {"cache_n": 7, "prompt_n": 3},
                }
            callback({"choices": [{"delta": {"role": "assistant", "content": None}}]})
            for i in range(self.words):
                if callback({"choices": [{"delta": {"content": f"w{i} "}}]}):
                    self.stopped.set()
                    return None
                time.sleep(0.005)
            callback(
                {
                    "choices": [{"delta": {}, "finish_reason": "stop"}],
                    "timings": {"cache_n": 0, "prompt_n": 9},
                }
            )
            return None
        finally:
            self.slot.release()


def test_an_abandoned_stream_does_not_keep_the_model_from_the_next_question() -> None:
    server = WordsServer()  # 2,000 words: 10 s, if nothing stopped it
    model = llm.EmbeddedChatModel(engine=llm.Engine(server))
    abandoned = model.stream([HumanMessage("first")])
    assert next(abandoned).text == "w0 "  # read one word, then closed (a closed tab, a failed test)
    abandoned.close()
    assert server.stopped.wait(timeout=5), "the abandoned stream kept generating"
    answered: list[str] = []
    worker = threading.Thread(target=lambda: answered.append(model.invoke([HumanMessage("next")]).text))
    worker.start()
    worker.join(timeout=10)
    assert answered == ["Done."], "the next question waited for the abandoned answer's slot"
    assert model.last_prompt_use == llm.PromptUse(cached=7, read=3)
    server.words = 3
    assert "".join(c.text for c in model.stream([HumanMessage("again")])) == "w0 w1 w2 "
    assert model.last_prompt_use == llm.PromptUse(cached=0, read=9)


class FailingServer:
    """Answers every request the way the engine reports an error."""

    ERROR: ClassVar[dict[str, Any]] = {
        "error": {"code": 500, "message": "something\nbroke", "type": "server_error"}
    }

    def __init__(self, cut_ok: bool) -> None:
        self.cut_ok = cut_ok  # the one-token call that cuts the slot back succeeds

    def handle_chat_completions(self, request: dict[str, Any], callback: Any = None) -> Any:
        if self.cut_ok and request["messages"][-1]["content"] == "":
            return {"choices": [{"message": {"content": "x"}}]}
        if request["messages"][-1]["content"] == "malformed":
            raise ValueError("Expected 'messages' to be an array")
        if callback is None:
            return self.ERROR
        callback(self.ERROR)
        return None


@pytest.mark.parametrize("question", ["hello", "malformed"])
def test_engine_errors_become_one_line_model_errors(question: str) -> None:
    model = llm.EmbeddedChatModel(engine=llm.Engine(FailingServer(cut_ok=question == "malformed")))
    for call in (model.invoke, lambda m: list(model.stream(m))):
        with pytest.raises(ModelError) as caught:
            call([HumanMessage(question)])
        message = str(caught.value)
        assert message.startswith("The language model refused the request: ") and "\n" not in message
        assert ("something broke" if question == "hello" else "Expected 'messages'") in message


def test_a_model_that_does_not_load_is_a_model_error(tmp_path: Path) -> None:
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"not a model" * 100)
    with pytest.raises(ModelError, match=r"Cannot load the model .*broken\.gguf"):
        llm.load_embedded(Settings(gguf_path=broken))


def test_background_generation_gives_way_when_a_question_waits() -> None:
    """An evaluation run's generation stops between tokens once a person's question waits (it is asked
    again afterwards); without one waiting, or for a person's own question, nothing changes."""
    from assistant.errors import Preempted

    server = WordsServer(words=3)
    model = llm.EmbeddedChatModel(engine=llm.Engine(server))
    waiting = {"now": False}
    token = llm.BACKGROUND.set(lambda: waiting["now"])
    try:
        assert "".join(c.text for c in model.stream([HumanMessage("case")])) == "w0 w1 w2 "
        waiting["now"] = True
        with pytest.raises(Preempted):
            list(model.stream([HumanMessage("case")]))
        with pytest.raises(Preempted):
            model.invoke([HumanMessage("case")])
    finally:
        llm.BACKGROUND.reset(token)
    assert "".join(c.text for c in model.stream([HumanMessage("chat")])) == "w0 w1 w2 "


def test_each_fixed_part_keeps_a_slot_and_the_slot_is_cut_back_to_it_first() -> None:
    """Before each call the slot holding the prompt's fixed part is cut back to it (a one-token call
    with the last message empty); a new fixed part takes the least recently used slot, read from the
    start."""
    server = WordsServer(words=1)
    calls: list[dict[str, Any]] = []
    handle = server.handle_chat_completions
    server.handle_chat_completions = lambda r, c=None: (calls.append(r), handle(r, c))[1]  # type: ignore[method-assign]
    model = llm.EmbeddedChatModel(engine=llm.Engine(server, slots=2))
    for system in ["a", "b", "a", "c", "a"]:
        model.invoke([SystemMessage(system), HumanMessage("question")])
    cuts = [(c["messages"][0]["content"], c["id_slot"], c["cache_prompt"]) for c in calls[::2]]
    assert cuts == [("a", 0, False), ("b", 1, False), ("a", 0, True), ("c", 1, False), ("a", 0, True)]
    assert all(c["messages"][-1]["content"] == "" and c["max_tokens"] == 1 for c in calls[::2])
    asks = [(c["id_slot"], c["cache_prompt"], c["messages"][-1]["content"]) for c in calls[1::2]]
    assert asks == [(s, True, "question") for s in (0, 1, 0, 1, 0)]
