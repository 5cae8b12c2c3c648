"""Access over the real HTTP server: failed logins are slowed down, and secrets never reach the logs.

Readers being refused uploads and removals is tested through the handlers (test_ui.py) and through the API
with login (test_webapp_api.py::test_login_and_roles_protect_the_api).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner

from assistant import cli, llm, webapp
from assistant.auth import UserStore
from assistant.config import Settings
from assistant.errors import ModelError
from assistant.service import Assistant
from assistant.ui import build_ui
from tests.conftest import ROOT, AssistantFactory, free_port, wait_for_port

PASSWORD = "Tr0ub4dor-and-3-horses"
WRONG = "wrong-guess-Zq81!"
API_KEY = "sk-test-4f9c2e7a1b3d5e6f7a8b9c0d"
JOINT = "Which technologies were named for joint ventures?"


def post_login(url: str, name: str, password: str) -> tuple[int, float]:
    body = urllib.parse.urlencode({"username": name, "password": password}).encode()
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(urllib.request.Request(f"{url}login", data=body), timeout=60) as response:
            status = response.status
    except urllib.error.HTTPError as err:
        status = err.code
    return status, time.perf_counter() - started


def test_failed_logins_over_http_are_slowed_down(
    make_assistant: AssistantFactory, seed_corpus: Path, tmp_path: Path
) -> None:
    users = UserStore(tmp_path / "users.yaml")  # the real sleep
    users.add("alice", PASSWORD, "admin")
    assistant: Assistant = make_assistant()
    demo = build_ui(assistant, users)
    _, url, _ = webapp.launch(demo, "127.0.0.1", free_port(), users, prevent_thread_lock=True, quiet=True)
    try:
        status, right_first = post_login(url, "alice", PASSWORD)
        assert status == 200
        failures = [post_login(url, "alice", WRONG) for _ in range(3)]
        assert [s for s, _ in failures] == [400, 400, 400]
        took = [t for _, t in failures]
        assert took[0] >= 0.5 and took[1] >= 1.0 and took[2] >= 2.0, took
        assert took[2] > took[1] > took[0]
        status, right_after = post_login(url, "alice", PASSWORD)  # the right password is not held up
        assert status == 200 and right_after < took[1]
        print(f"\nlogin: right {right_first:.2f} s; wrong {', '.join(f'{t:.2f}' for t in took)} s")
    finally:
        demo.close()


class EchoKeyServer(BaseHTTPRequestHandler):
    """An OpenAI-compatible endpoint that refuses the key and, like some real ones, quotes it back."""

    def do_POST(self) -> None:
        key = self.headers.get("Authorization", "")
        body = json.dumps(
            {
                "error": {
                    "message": f"Incorrect API key provided: {key}",
                    "type": "invalid_request_error",
                    "code": "invalid_api_key",
                }
            }
        ).encode()
        self.send_response(401)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def echo_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), EchoKeyServer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
    server.server_close()


def test_server_errors_are_one_line_model_errors_without_the_key(
    echo_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", API_KEY)
    model = llm.load_openai(Settings(llm_backend="openai", llm_base_url=echo_server))
    for call in (model.invoke, lambda text: list(model.stream(text))):
        with pytest.raises(ModelError) as refused:
            call("Hello")
        expected = f"The language model server at {echo_server} refused the API key (HTTP 401)"
        assert str(refused.value) == f"{expected}: check $OPENAI_API_KEY."
        assert refused.value.__cause__ is None and refused.value.__suppress_context__
    unreachable = llm.load_openai(
        Settings(llm_backend="openai", llm_base_url=f"http://127.0.0.1:{free_port()}/v1")
    )
    with pytest.raises(ModelError, match="could not be reached"):
        unreachable.invoke("Hello")


def secrets_in(text: str) -> list[str]:
    return [
        name for name, value in (("password", PASSWORD), ("wrong", WRONG), ("key", API_KEY)) if value in text
    ]


@pytest.mark.server
def test_secrets_never_appear_in_logs(tmp_path: Path, seed_corpus: Path, echo_server: str) -> None:
    users_file = tmp_path / "users.yaml"
    env = {
        **os.environ,
        "ASSISTANT_USERS_FILE": str(users_file),
        "ASSISTANT_LLM_BACKEND": "openai",
        "ASSISTANT_LLM_BASE_URL": echo_server,
        "OPENAI_API_KEY": API_KEY,
        "HF_HUB_OFFLINE": "1",
    }
    # the password given to `users add` is stored hashed, and never printed
    added = CliRunner().invoke(
        cli.main, ["users", "add", "alice", "--role", "admin", "--password", PASSWORD], env=env
    )
    assert added.exit_code == 0, added.output
    assert secrets_in(added.output) == [] and PASSWORD not in users_file.read_text()

    # `assistant ask`: the server refuses the key and quotes it back
    command = [sys.executable, "-m", "assistant.cli"]
    ingest = subprocess.run(
        [*command, "ingest"], env=env, cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert ingest.returncode == 0, ingest.stderr[-2000:]
    ask = subprocess.run(
        [sys.executable, "-m", "assistant.cli", "ask", JOINT],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert ask.returncode == 1 and "refused the API key (HTTP 401)" in ask.stderr, ask.stderr[-3000:]
    assert "Traceback" not in ask.stderr and secrets_in(ask.stdout + ask.stderr) == [], ask.stderr[-3000:]

    # `assistant serve`: warm-up, logins right and wrong, a question, all logged to one file
    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("w") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "assistant.cli", "serve", "--port", str(port)],
            env=env,
            cwd=ROOT,
            stdout=out,
            stderr=out,
        )
        try:
            wait_for_port(port, 180, "assistant serve")
            url = f"http://127.0.0.1:{port}/"
            assert post_login(url, "alice", WRONG)[0] == 400
            assert post_login(url, "alice", PASSWORD)[0] == 200
            from gradio_client import Client

            client = Client(url, auth=("alice", PASSWORD), verbose=False)
            with pytest.raises(Exception) as failed:
                client.predict(message=JOINT, api_name="/chat")
            assert secrets_in(str(failed.value)) == []
            time.sleep(1)
        finally:
            server.terminate()
            server.wait(timeout=30)
    logged = log.read_text()
    assert "Open http://127.0.0.1" in logged
    assert secrets_in(logged) == [], logged[-4000:]
