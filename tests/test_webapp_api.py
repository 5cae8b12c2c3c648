"""The web app through its API: a real server on 127.0.0.1 driven by gradio_client (new Client per test)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError

from assistant import webapp
from assistant.auth import UserStore
from assistant.errors import ModelError
from assistant.service import Assistant
from assistant.ui import build_ui

ROOT = Path(__file__).resolve().parent.parent
JOINT = "Which technologies were named for joint ventures?"
GOOD = "Joint ventures are promoted in AI and semiconductors [1]."


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """The app launched in this process (its own thread), on a free loopback port."""

    def __init__(self, assistant: Assistant, users: UserStore | None = None) -> None:
        self.assistant = assistant
        self.demo = build_ui(assistant, users)
        _, self.url, _ = webapp.launch(
            self.demo, "127.0.0.1", free_port(), users, prevent_thread_lock=True, quiet=True
        )

    def client(self, **kwargs: Any) -> Client:
        return Client(self.url, verbose=False, **kwargs)

    def close(self) -> None:
        self.demo.close()


StartServer = Callable[..., Server]


def serve_assistants(make_assistant: Callable[..., Assistant]) -> Iterator[StartServer]:
    """Start servers on demand (each with its own assistant); close them all at the end."""
    servers: list[Server] = []

    def start(users: UserStore | None = None, warm: bool = True, **assistant_kwargs: Any) -> Server:
        assistant = make_assistant(**assistant_kwargs)
        assistant.ingest()
        if warm:
            assistant.chain  # noqa: B018
        servers.append(Server(assistant, users))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


@pytest.fixture
def start_server(make_assistant: Callable[..., Assistant], seed_corpus: Path) -> Iterator[StartServer]:
    yield from serve_assistants(make_assistant)


def test_chat_endpoint_answers_with_citations_and_keeps_the_session(start_server: StartServer) -> None:
    server = start_server(responses=[GOOD] * 8)
    client = server.client()
    first = client.predict(message=JOINT, api_name="/chat")
    assert first["done"] and first["text"].startswith(GOOD + "\n\n> ") and not first["refused"]
    assert first["citations"][0]["source"] == "meeting-article.md"
    assert "semiconductors" in first["citations"][0]["quote"]
    second = client.predict(message="And which of them first?", api_name="/chat")
    assert [m["content"] for m in second["history"][:2]] == [JOINT, first["text"]]
    assert len(second["history"]) == 4
    other = server.client()  # another client is another conversation
    assert len(other.predict(message=JOINT, api_name="/chat")["history"]) == 2
    given = other.predict(message="And AI?", history=[], api_name="/chat")  # explicit (empty) history
    assert len(given["history"]) == 4  # an empty list means "use the session"
    job = server.client().submit(message=JOINT, api_name="/chat")  # streaming
    outputs = list(job)
    assert any(not o["done"] for o in outputs) and job.result()["done"]


def test_chat_endpoint_errors_are_messages(start_server: StartServer) -> None:
    client = start_server().client()
    with pytest.raises(AppError, match="Please type a question"):
        client.predict(message="   ", api_name="/chat")
    refusal = client.predict(message="What is the capital of France?", api_name="/chat")
    assert refusal["refused"] and refusal["refusal_reason"] and refusal["citations"] == []


def test_upload_through_the_api_is_answerable_at_once(start_server: StartServer, tmp_path: Path) -> None:
    answer = "The hydrogen working group met on the Kyoto ferry [1]."
    server = start_server(responses=[answer] * 4)
    note = tmp_path / "hydrogen-note.md"
    note.write_text("The hydrogen working group met on the Kyoto ferry to discuss fuel cells.\n")
    client = server.client()
    message, table, *_ = client.predict(files=[handle_file(str(note))], replace=False, api_name="/upload")
    assert "✓ **hydrogen-note.md**: added" in message
    assert "hydrogen-note.md" in str(table)
    result = client.predict(message="Where did the hydrogen working group meet?", api_name="/chat")
    assert result["citations"][0]["source"] == "hydrogen-note.md"


def test_login_and_roles_protect_the_api(start_server: StartServer, tmp_path: Path) -> None:
    users = UserStore(tmp_path / "users.yaml", sleep=lambda s: None)
    users.add("ann", "admin-password", "admin")
    users.add("rob", "reader-password", "reader")
    server = start_server(users=users, responses=[GOOD] * 4)
    with pytest.raises(Exception):  # noqa: B017  (no login: the app does not even describe itself)
        server.client()
    with pytest.raises(Exception):  # noqa: B017
        server.client(auth=("rob", "wrong-password"))
    reader = server.client(auth=("rob", "reader-password"))
    assert reader.predict(message=JOINT, api_name="/chat")["citations"]
    note = tmp_path / "x.md"
    note.write_text("Readers must not add this.\n")
    message, *_ = reader.predict(files=[handle_file(str(note))], replace=False, api_name="/upload")
    assert "Only an admin" in message
    message, *_ = reader.predict(source="meeting-article.md", api_name="/remove")
    assert "Only an admin" in message
    assert [d.source for d in server.assistant.documents()] == ["meeting-article.md"]
    admin = server.client(auth=("ann", "admin-password"))
    message, *_ = admin.predict(files=[handle_file(str(note))], replace=False, api_name="/upload")
    assert "✓ **x.md**: added" in message
    message, table, _ = admin.predict(source="x.md", api_name="/remove")
    assert "Removed **x.md**" in message and "x.md" not in str(table["data"])


def test_model_warmup_loads_primes_and_reports_errors(make_assistant: Callable[..., Assistant]) -> None:
    warmup = webapp.ModelWarmup(make_assistant(responses=["Ready."])).start()
    assert warmup.wait(30) and warmup.error() is None and warmup.seconds is not None

    def no_model() -> None:
        raise ModelError("GGUF model file /x.gguf does not exist.")

    failed = webapp.ModelWarmup(make_assistant(chat_model=no_model)).start()
    assert not failed.wait(30) and failed.error() == "GGUF model file /x.gguf does not exist."


def test_serve_launches_offline_and_local(monkeypatch, embeddings, seed_corpus: Path) -> None:
    seen: dict[str, Any] = {}
    monkeypatch.setattr("assistant.factory.LocalEmbeddings", lambda *a, **k: embeddings)
    monkeypatch.setattr(webapp, "launch", lambda demo, *args, **kw: seen.update(demo=demo, args=args))
    monkeypatch.setenv("ASSISTANT_LLM_BACKEND", "openai")  # no server: the warm-up fails fast, visibly
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    webapp.serve(port=7999)
    assert os.environ["GRADIO_ANALYTICS_ENABLED"] == "False" and os.environ["HF_HUB_OFFLINE"] == "1"
    assert seen["args"][:3] == ("127.0.0.1", 7999, None)
    assert seen["demo"].fns  # the page was built


@pytest.mark.server
def test_assistant_serve_command_starts_in_seconds(tmp_path: Path) -> None:
    """The real command in a subprocess: the page is up while the model warms up (here: fails, visibly)."""
    port = free_port()
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.md").write_text("The leaders met to discuss semiconductors.\n")
    env = {
        **os.environ,
        "ASSISTANT_CORPUS_DIR": str(corpus),
        "ASSISTANT_DATA_DIR": str(tmp_path / "data"),
        "ASSISTANT_LLM_BACKEND": "openai",  # not configured: keeps this test free of the 1 GB model
    }
    started = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "-m", "assistant.cli", "serve", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        url = f"http://127.0.0.1:{port}/"
        while True:
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    assert response.status == 200
                    break
            except OSError:
                assert process.poll() is None, process.stdout.read() if process.stdout else ""
                assert time.monotonic() - started < 90, "the server did not start"
                time.sleep(0.3)
        took = time.monotonic() - started
        print(f"assistant serve: page up after {took:.1f} s")
        client = Client(url, verbose=False)
        with pytest.raises(AppError, match="ASSISTANT_LLM_BASE_URL"):
            client.predict(message="Which chips?", api_name="/chat")
    finally:
        process.terminate()
        output = process.communicate(timeout=20)[0]
    assert "Corpus: 1 added" in output and f"Open http://127.0.0.1:{port}" in output


@pytest.mark.llm
def test_real_model_answers_and_resolves_follow_ups(start_server: StartServer, real_llm) -> None:
    server = start_server(chat_model=real_llm)
    client = server.client()
    joint = client.predict(message=JOINT, api_name="/chat")
    assert not joint["refused"] and "semiconductor" in joint["text"].lower(), joint
    assert joint["citations"] and "[1]" in joint["text"]
    print("\njoint ventures:", joint["text"], joint["timings"])
    follow = server.client()
    first = follow.predict(message="Which former prime minister is mentioned?", api_name="/chat")
    assert "abe" in first["text"].lower(), first
    second = follow.predict(message="What did he use his relationship with Trump for?", api_name="/chat")
    print("follow-up:", second["standalone_question"], "->", second["text"])
    assert "abe" in second["standalone_question"].lower(), second
    assert not second["refused"] and second["citations"], second
    assert any(w in second["text"].lower() for w in ("safeguard", "protect", "interests")), second
