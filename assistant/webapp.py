"""``assistant serve``: index new files, start loading the model in the background, launch the web chat.

Offline by construction: Gradio analytics off and the Hugging Face hub offline (both set before Gradio is
imported), no share link, no server-side rendering, nothing fetched from outside.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import gradio as gr

    from assistant.auth import UserStore
    from assistant.service import Assistant

log = logging.getLogger(__name__)

CONCURRENCY = 4  # events of one kind running at once; answers beyond llm_slots queue in the model engine
_LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def say(message: str) -> None:
    """A line for the person who started the server (stderr, flushed: it may be a log file)."""
    print(message, file=sys.stderr, flush=True)


def offline_environment() -> None:
    """Call before importing gradio: no analytics, no hub look-ups, no telemetry."""
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"


class ModelWarmup:
    """Loads the language model in a background thread, so the page is up while it warms up."""

    def __init__(self, assistant: Assistant) -> None:
        self.assistant = assistant
        self.seconds: float | None = None
        self._error: str | None = None
        self._ready = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> ModelWarmup:
        self._thread = threading.Thread(target=self._run, name="model-warmup", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        from assistant.errors import AssistantError

        started = time.perf_counter()
        try:
            chain = self.assistant.chain  # loads the model once; questions wait for it
        except AssistantError as err:
            self._error = str(err)
            return
        except Exception as err:  # the page must say why it cannot answer, not hang
            log.exception("loading the language model failed")
            self._error = f"{type(err).__name__}: {err}"
            return
        self.seconds = time.perf_counter() - started
        self._prime(chain)
        self._ready.set()
        say(
            f"Language model ready in {time.perf_counter() - started:.1f} s (loaded in {self.seconds:.1f} s)."
        )

    @staticmethod
    def _prime(chain: Any) -> None:
        """Run the condense prompt, then the answer prompt, once each up to the first token: llama.cpp keeps
        the evaluated system prompt and examples (the same for every question) in its slots and prompt
        cache, so the first real question and the first follow-up start answering sooner."""
        try:
            history = "User: Who is mentioned?\nAssistant: The prime minister is mentioned [1]."
            for _ in chain.condense_chain.stream({"history": history, "question": "What did he say?"}):
                break
            for _ in chain.answer_chain.stream(
                {"passages": "[1] The meeting assistant is starting.", "question": "Is it ready?"}
            ):
                break
        except Exception:  # only an optimisation
            log.warning("priming the language model failed", exc_info=True)

    def error(self) -> str | None:
        return self._error

    def ready(self) -> bool:
        """Loaded and primed: a question starts answering at once."""
        return self._ready.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        if self._thread is not None:
            self._thread.join(timeout)
        return self.ready()


def launch(
    demo: gr.Blocks,
    host: str,
    port: int,
    users: UserStore | None = None,
    max_file_mb: float = 25.0,
    prevent_thread_lock: bool = False,
    quiet: bool = False,
) -> Any:
    """Queue and launch ``demo`` locally (also used by the tests, with ``prevent_thread_lock``)."""
    from assistant.ui_format import CSS

    demo.queue(default_concurrency_limit=CONCURRENCY)
    return demo.launch(
        server_name=host,
        server_port=port,
        share=False,
        auth=users.averify if users is not None else None,
        auth_message="Sign in with the name and password your admin gave you.",
        show_error=False,
        prevent_thread_lock=prevent_thread_lock,
        quiet=quiet,
        css=CSS,
        max_file_size=int(max_file_mb * 1024 * 1024),
        ssr_mode=False,
        pwa=False,
        mcp_server=False,
        enable_monitoring=False,
        inbrowser=False,
        footer_links=["api"],
    )


def serve(host: str | None = None, port: int | None = None) -> None:
    """Run the web chat until interrupted (host and port default to the settings)."""
    offline_environment()
    from assistant.auth import load_users, users_path
    from assistant.config import Settings
    from assistant.factory import build_assistant
    from assistant.ui import build_ui

    settings = Settings()
    host = host or settings.host
    port = port or settings.port
    users = load_users(settings)
    if users is None and host not in _LOOPBACK:
        say(
            f"WARNING: listening on {host} without login: anyone who can reach it may read and change the "
            f"documents. Add users with `assistant users add NAME --role admin` ({users_path(settings)})."
        )
    say("Loading the embedding model and the index...")
    assistant = build_assistant(settings)
    report = assistant.ingest()  # new or changed files in corpus/; unchanged ones are skipped quickly
    say(f"Corpus: {report.summary()}")
    for failure in report.failures():
        say(f"  failed {failure.source}: {failure.error}")
    warmup = ModelWarmup(assistant).start()
    demo = build_ui(assistant, users, warmup)
    login = f"login required ({len(users)} users)" if users is not None else "no login"
    say(f"Open http://{host}:{port} ({login}). The language model warms up in the background.")
    launch(demo, host, port, users, settings.max_file_mb)
