from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant import llm
from assistant.config import Settings
from assistant.errors import ModelError
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
