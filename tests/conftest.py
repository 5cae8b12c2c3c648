"""Shared fixtures: real Chroma in temp dirs, the real embedding model (once per run), the real LLM (once)."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from langchain_core.language_models import BaseChatModel
from langchain_core.language_models.fake_chat_models import FakeListChatModel

from assistant.answering import TextAnalyser
from assistant.auth import UserStore
from assistant.config import Settings
from assistant.embeddings import LocalEmbeddings
from assistant.factory import build_assistant
from assistant.service import Assistant

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "corpus" / "meeting-article.md"


@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every path setting points into the test's temp dir: no test touches real data."""
    monkeypatch.setenv("ASSISTANT_CORPUS_DIR", str(tmp_path / "corpus"))
    monkeypatch.setenv("ASSISTANT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("ASSISTANT_CHROMA_URL", raising=False)
    monkeypatch.delenv("ASSISTANT_USERS_FILE", raising=False)
    monkeypatch.delenv("ASSISTANT_LLM_BACKEND", raising=False)
    monkeypatch.setenv("GRADIO_ANALYTICS_ENABLED", "False")


@pytest.fixture(scope="session")
def embeddings() -> LocalEmbeddings:
    model = LocalEmbeddings()
    model.model  # noqa: B018  (load once for the whole run)
    return model


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings on temp folders (the model cache stays shared: assembling it takes a while)."""
    return Settings(corpus_dir=tmp_path / "corpus", data_dir=tmp_path / "data")


@pytest.fixture
def seed_corpus(settings: Settings) -> Path:
    settings.corpus_dir.mkdir(parents=True, exist_ok=True)
    shutil.copy(SEED, settings.corpus_dir / SEED.name)
    return settings.corpus_dir


@pytest.fixture
def users(tmp_path: Path) -> UserStore:
    """A users file with an admin (ann) and a reader (rob); no login delays."""
    store = UserStore(tmp_path / "users.yaml", sleep=lambda s: None)
    store.add("ann", "admin-password", "admin")
    store.add("rob", "reader-password", "reader")
    return store


AssistantFactory = Callable[..., Assistant]


@pytest.fixture
def make_assistant(settings: Settings, embeddings: LocalEmbeddings) -> AssistantFactory:
    """Build an assistant on the temp settings; pass ``chat_model=`` (a fake) or ``responses=[...]``."""

    def make(
        chat_model: BaseChatModel | None = None, responses: list[str] | None = None, **overrides: object
    ) -> Assistant:
        model = chat_model or FakeListChatModel(responses=responses or ["NOT IN DOCUMENTS"])
        the_settings = settings.model_copy(update=overrides) if overrides else settings
        return build_assistant(the_settings, chat_model=model, embeddings=embeddings)

    return make


@pytest.fixture
def seeded(make_assistant: AssistantFactory, seed_corpus: Path) -> Iterator[Assistant]:
    """An assistant with the seed article indexed and a fake LLM (replace ``responses`` per test)."""
    assistant = make_assistant()
    report = assistant.ingest()
    assert report.count("added") == 1, report.summary()
    yield assistant


@pytest.fixture(scope="session")
def real_llm() -> BaseChatModel:
    """The real embedded model, loaded once per test run."""
    from assistant.llm import load_embedded

    return load_embedded(Settings())


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, seconds: float, what: str) -> None:
    """Wait until something listens on 127.0.0.1:port, or fail the test."""
    import socket
    import time

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.3)
    pytest.fail(f"{what} did not start on port {port} within {seconds:.0f}s")


@contextlib.contextmanager
def running_process(command: list[str], port: int, seconds: float, what: str) -> Iterator[None]:
    """Start a server process, wait until it listens on 127.0.0.1:port, stop it afterwards."""
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port, seconds, what)
        yield
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def write_generated_files(
    folder: Path, name: str, files: int, paragraphs: int, line: Callable[[int, int], str]
) -> list[Path]:
    """``files`` Markdown files ``NAME-NNN.md`` in ``folder``, each of ``paragraphs`` paragraphs
    ``line(file, paragraph)``; returns them sorted."""
    folder.mkdir(parents=True, exist_ok=True)
    for f in range(files):
        (folder / f"{name}-{f:03d}.md").write_text("\n\n".join(line(f, p) for p in range(paragraphs)))
    return sorted(folder.glob(f"{name}-*.md"))


def chunk_ids(assistant: Assistant) -> list[str]:
    """The ids of every chunk in the assistant's store, sorted."""
    return sorted(assistant.store.chunk_ids())


@pytest.fixture(scope="session")
def analyser() -> TextAnalyser:
    """The spaCy pipeline, loaded once per run."""
    shared = TextAnalyser()
    shared.nlp  # noqa: B018
    return shared


def run_in_fresh_process(script: str) -> None:
    """Run ``script`` in a new interpreter from the project root (what a module loads at first use shows
    only there) and fail with its error output if it fails."""
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
