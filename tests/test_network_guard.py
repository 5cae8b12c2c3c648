"""No outbound network: ingest, ask and serve under a guard that fails any connection not to 127.0.0.1.

The guard (tests/network_guard.py) also logs every attempt, so an attempt that the code making it swallows
(telemetry, update checks) still fails the test. The first tests prove the guard really blocks.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT, free_port
from tests.network_guard import Guard, OutboundConnectionError, install, sitecustomize_dir

OUTSIDE = ("10.255.255.1", 80)  # (this sandbox accepts connections to any address: only the guard refuses)
JOINT = "Which technologies were named for joint ventures?"
GOOD = "The leaders named AI and semiconductors for joint ventures [1]."


@pytest.fixture
def guard(tmp_path: Path) -> Iterator[Guard]:
    active = install(tmp_path / "network-attempts.log")
    yield active
    active.uninstall()


@pytest.fixture
def offline_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Start without the offline switches: the product must set them itself (restored afterwards)."""
    for name in (
        "HF_HUB_OFFLINE",
        "TRANSFORMERS_OFFLINE",
        "HF_HUB_DISABLE_TELEMETRY",
        "GRADIO_ANALYTICS_ENABLED",
    ):
        monkeypatch.delenv(name, raising=False)


def test_guard_blocks_outside_connections_and_allows_loopback(guard: Guard) -> None:
    with pytest.raises(OutboundConnectionError):
        socket.create_connection(OUTSIDE, timeout=2)
    with pytest.raises(OutboundConnectionError):
        socket.getaddrinfo("huggingface.co", 443)
    with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as udp, pytest.raises(OutboundConnectionError):
        udp.sendto(b"x", ("2001:4860:4860::8888", 53))
    assert len(guard.attempts()) == 3 and "10.255.255.1" in guard.attempts()[0]
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        socket.create_connection(server.getsockname(), timeout=2).close()
        socket.create_connection(("localhost", server.getsockname()[1]), timeout=2).close()
    assert len(guard.attempts()) == 3
    guard.uninstall()  # the socket module is itself again
    assert (
        socket.socket.connect.__qualname__ == "socket.connect" and socket.getaddrinfo.__module__ == "socket"
    )


def guarded_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    site = sitecustomize_dir(tmp_path / "guard-site", ROOT)
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "GRADIO_ANALYTICS_ENABLED")
    }
    return {
        **env,
        "PYTHONPATH": os.pathsep.join([str(site), str(ROOT)]),
        "NETWORK_GUARD_LOG": str(tmp_path / "network-attempts.log"),
        "ASSISTANT_CORPUS_DIR": str(tmp_path / "corpus"),
        "ASSISTANT_DATA_DIR": str(tmp_path / "data"),
        **extra,
    }


def attempts(tmp_path: Path) -> list[str]:
    log = tmp_path / "network-attempts.log"
    return log.read_text().splitlines() if log.exists() else []


def test_guard_is_active_in_subprocesses(tmp_path: Path) -> None:
    probe = f"import socket; socket.create_connection({OUTSIDE!r}, timeout=2)"
    result = subprocess.run(
        [sys.executable, "-c", probe], env=guarded_env(tmp_path), capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0 and "network guard: outbound connection refused" in result.stderr
    assert len(attempts(tmp_path)) == 1


def test_ingest_search_and_the_web_app_stay_on_this_machine(
    guard: Guard, offline_env: None, settings, seed_corpus: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In-process: a fresh embedding model, Chroma, ingest, search, the Gradio app and its /chat API."""
    import huggingface_hub.constants
    from langchain_core.language_models.fake_chat_models import FakeListChatModel

    from assistant import webapp
    from assistant.factory import build_assistant
    from assistant.ui import build_ui

    webapp.offline_environment()  # what `assistant serve` does before importing Gradio
    assistant = build_assistant(settings, chat_model=FakeListChatModel(responses=[GOOD]))
    assert assistant.ingest().count("added") == 1
    assert "semiconductors" in assistant.search(JOINT, 1)[0].text
    demo = build_ui(assistant)
    _, url, _ = webapp.launch(demo, "127.0.0.1", free_port(), prevent_thread_lock=True, quiet=True)
    try:
        with urllib.request.urlopen(url, timeout=30) as page:
            assert page.status == 200 and "Meeting assistant" in page.read().decode()
        with urllib.request.urlopen(f"{url}config", timeout=30) as config:
            assert config.status == 200
        # The API client as the README says to use it: huggingface_hub offline. (Without that, building
        # its request headers fetches an "agent harnesses" list from huggingface.co: the guard saw it.)
        monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
        from gradio_client import Client

        answer = Client(url, verbose=False).predict(message=JOINT, api_name="/chat")
        assert "semiconductors" in answer["citations"][0]["passage"]
    finally:
        demo.close()
    assert guard.attempts() == [], "\n".join(guard.attempts())


@pytest.mark.llm
@pytest.mark.server
def test_cli_ingest_ask_and_serve_with_the_real_model_stay_on_this_machine(
    tmp_path: Path, seed_corpus: Path
) -> None:
    """The real commands in subprocesses, the guard installed by sitecustomize: ingest, ask, serve."""
    env = guarded_env(tmp_path)
    command = [sys.executable, "-m", "assistant.cli"]
    ingest = subprocess.run([*command, "ingest"], env=env, capture_output=True, text=True, timeout=300)
    assert ingest.returncode == 0 and "1 added" in ingest.stdout, ingest.stderr[-2000:]
    ask = subprocess.run(
        [*command, "ask", "--json", JOINT], env=env, capture_output=True, text=True, timeout=600
    )
    assert ask.returncode == 0, ask.stderr[-2000:]
    assert '"refused": false' in ask.stdout and "semiconductor" in ask.stdout.lower(), ask.stdout[-2000:]
    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("w") as out:
        server = subprocess.Popen([*command, "serve", "--port", str(port)], env=env, stdout=out, stderr=out)
        try:
            deadline = time.monotonic() + 300
            while "Language model ready" not in log.read_text() and time.monotonic() < deadline:
                assert server.poll() is None, log.read_text()[-2000:]
                time.sleep(1)
            assert "Language model ready" in log.read_text(), log.read_text()[-2000:]
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=30) as page:
                assert page.status == 200
        finally:
            server.terminate()
            server.wait(timeout=30)
    assert attempts(tmp_path) == []
    assert "network guard" not in ingest.stderr + ask.stderr + log.read_text()
