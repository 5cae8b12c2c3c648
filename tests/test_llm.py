from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant import llm
from assistant.config import Settings
from assistant.errors import ModelError
from assistant.prefix_cache import PrefixCache, PrefixUse
from tests.conftest import AssistantFactory, free_port, running_process


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
def llama_server() -> Iterator[str]:
    """llama-cpp-python's OpenAI-compatible server with the packaged GGUF, on 127.0.0.1."""
    gguf = llm.assemble_gguf(Settings().cache_dir)
    port = free_port()
    command = [
        sys.executable, "-m", "llama_cpp.server", "--model", str(gguf), "--host", "127.0.0.1",
        "--port", str(port), "--n_ctx", "4096", "--model_alias", "local",
    ]  # fmt: skip
    with running_process(command, port, 120, "llama_cpp.server"):
        yield f"http://127.0.0.1:{port}/v1"


@pytest.mark.llm
@pytest.mark.server
def test_openai_compatible_server_answers_with_citations(
    make_assistant: AssistantFactory, seed_corpus: Path, llama_server: str
) -> None:
    model = llm.load_openai(Settings(llm_backend="openai", llm_base_url=llama_server))
    assistant = make_assistant(chat_model=model)
    assistant.ingest()
    answer = assistant.ask("Which technologies were named for joint ventures?")
    assert not answer.refused, answer
    assert "semiconductor" in answer.text.lower()
    assert any("AI and semiconductors" in c.passage for c in answer.citations)


# --- prefix cache (assistant/prefix_cache.py) on the real model ------------------------------------------
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


def _prompt_tokens_read(model: llm.LlamaCppChatModel) -> int:
    import llama_cpp

    return int(llama_cpp.llama_perf_context(model.llama._ctx.ctx).n_p_eval)


def _follow_up_calls(model: llm.LlamaCppChatModel) -> list[dict[str, object]]:
    """What the chain does for a question and its follow-up: answer, condense, answer (fresh llama state)."""
    import llama_cpp
    from langchain_core.output_parsers import StrOutputParser

    from assistant.prompts import load_prompt

    prompts = Settings().resolved_prompts_dir()
    answer = load_prompt(prompts, "answer").template() | model | StrOutputParser()
    condense = load_prompt(prompts, "condense").template() | model | StrOutputParser()
    model.llama.reset()
    calls: list[tuple[object, dict[str, str]]] = [
        (answer, {"passages": _passages([0, 1]), "question": "Which former prime minister is mentioned?"}),
        (
            condense,
            {
                "history": "User: Which former prime minister is mentioned?\nAssistant: Shinzo Abe [1].",
                "question": "What did he use his relationship with Trump for?",
            },
        ),
        (
            answer,
            {
                "passages": _passages([0, 2, 1]),
                "question": "What did Shinzo Abe use his relationship with Trump for?",
            },
        ),
    ]
    results = []
    for chain, inputs in calls:
        llama_cpp.llama_perf_context_reset(model.llama._ctx.ctx)
        text = chain.invoke(inputs)  # type: ignore[attr-defined]
        results.append({"text": text, "read": _prompt_tokens_read(model), "use": model.last_prefix_use})
    return results


@pytest.fixture(scope="module")
def follow_up_runs(real_llm: llm.LlamaCppChatModel) -> dict[str, list[dict[str, object]]]:
    """The same three calls without and with the prefix cache, on the one loaded model."""
    runs = {}
    for name, cache in (("off", None), ("on", PrefixCache())):
        model = llm.LlamaCppChatModel(
            llama=real_llm.llama, max_tokens=48, prefix_cache=cache, lock=real_llm.lock
        )
        runs[name] = _follow_up_calls(model)
        runs[name].append({"cache": cache})
    return runs


@pytest.mark.llm
def test_prefix_cache_restores_the_answer_prompt_after_a_condense_call(
    follow_up_runs: dict[str, list[dict[str, object]]],
) -> None:
    off, on = follow_up_runs["off"], follow_up_runs["on"]
    use = on[2]["use"]
    assert isinstance(use, PrefixUse) and use.restored and use.prefix_tokens >= 200, use
    # without the cache the condense call evicted the answer prompt: it is read again in full
    assert off[2]["read"] >= use.prompt_tokens - 8, (off[2], use)
    # with it only the passages and the question are read
    assert on[2]["read"] <= use.prompt_tokens - use.prefix_tokens + 2, (on[2], use)
    assert on[2]["read"] < use.prompt_tokens / 2
    cache = on[3]["cache"]
    assert isinstance(cache, PrefixCache) and len(cache) == 2  # the answer and the condense prefixes
    assert cache.nbytes < 40 << 20, cache.nbytes  # about 28 KB per token of prefix
    print(
        f"\nanswer call after condense: read {off[2]['read']} -> {on[2]['read']} "
        f"of {use.prompt_tokens} tokens;"
        f" cache {len(cache)} prefixes, {cache.nbytes / 1e6:.1f} MB"
    )


@pytest.mark.llm
def test_answers_are_identical_with_and_without_the_prefix_cache(
    follow_up_runs: dict[str, list[dict[str, object]]],
) -> None:
    off, on = follow_up_runs["off"], follow_up_runs["on"]
    assert [c["text"] for c in on[:3]] == [c["text"] for c in off[:3]]
    assert "abe" in str(on[0]["text"]).lower() and "safeguard" in str(on[2]["text"]).lower(), on


class WordsLlama:
    """Stands in for ``llama_cpp.Llama``: streams a few words, or answers at once."""

    def create_chat_completion(self, **request: object) -> object:
        if not request.get("stream"):
            return {"choices": [{"message": {"content": "Done."}}]}
        return ({"choices": [{"delta": {"content": w}}]} for w in ("One ", "two ", "three."))


def test_an_abandoned_stream_does_not_keep_the_model_from_the_next_question() -> None:
    import threading

    from langchain_core.messages import HumanMessage

    model = llm.LlamaCppChatModel(llama=WordsLlama())
    abandoned = model.stream([HumanMessage("first")])
    assert next(abandoned).text == "One "  # read one word, then never again (a closed tab, a failed test)
    answered: list[str] = []
    worker = threading.Thread(target=lambda: answered.append(model.invoke([HumanMessage("next")]).text))
    worker.start()
    worker.join(timeout=10)
    assert answered == ["Done."], "the next question waited for the abandoned answer's lock"
    assert "".join(c.text for c in model.stream([HumanMessage("again")])) == "One two three."
    del abandoned


def test_background_generation_gives_way_when_a_question_waits() -> None:
    """An evaluation run's generation stops between tokens once a person's question waits (it is asked
    again afterwards); without one waiting, or for a person's own question, nothing changes."""
    from langchain_core.messages import HumanMessage

    from assistant.errors import Preempted

    model = llm.LlamaCppChatModel(llama=WordsLlama())
    waiting = {"now": False}
    token = llm.BACKGROUND.set(lambda: waiting["now"])
    try:
        assert "".join(c.text for c in model.stream([HumanMessage("case")])) == "One two three."
        waiting["now"] = True
        with pytest.raises(Preempted):
            list(model.stream([HumanMessage("case")]))
        with pytest.raises(Preempted):
            model.invoke([HumanMessage("case")])
    finally:
        llm.BACKGROUND.reset(token)
    assert "".join(c.text for c in model.stream([HumanMessage("chat")])) == "One two three."
