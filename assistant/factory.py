"""The composition root: the one place that reads settings and builds the objects."""

from __future__ import annotations

from collections.abc import Callable

from langchain_core.language_models import BaseChatModel

from assistant.answering import AnswerStep, TextAnalyser
from assistant.chunking import CHUNKER_VERSION
from assistant.config import Settings
from assistant.embeddings import LocalEmbeddings, force_offline
from assistant.eval_runs import ChatPriority, EvalRuns
from assistant.glossary import Glossary
from assistant.ingest import Ingestor
from assistant.llm import AssemblyProgress, load_chat_model
from assistant.overview import OverviewPassages
from assistant.prompts import load_prompt
from assistant.rag import ChainSettings, RagChain
from assistant.retrieval import Retriever
from assistant.sentence_encoder import E5Encoder, MiniLMEncoder, SentenceEncoder
from assistant.service import Assistant
from assistant.store import ChunkStore, open_client


def build_assistant(
    settings: Settings | None = None,
    chat_model: BaseChatModel | Callable[[], BaseChatModel] | None = None,
    model_progress: AssemblyProgress | None = None,
    embeddings: LocalEmbeddings | None = None,
    evidence_encoder: SentenceEncoder | None = None,
    rebuild_stale_index: bool = False,
) -> Assistant:
    """Build the assistant.

    ``chat_model`` overrides the configured model (a model, or a function that loads one); ``embeddings``
    shares an already loaded embedding model (tests load it once per run), ``evidence_encoder`` the
    evidence model. ``rebuild_stale_index``: an index built with other settings is emptied for a rebuild
    instead of refused.
    """
    settings = settings or Settings()
    force_offline()
    embeddings = embeddings or LocalEmbeddings(settings.embedding_model_path, settings.embed_batch_size)
    # one multilingual model for the index and the evidence (loaded on first use)
    e5 = evidence_encoder if isinstance(evidence_encoder, E5Encoder) else E5Encoder()
    multilingual = e5 if settings.multilingual_index else None
    fingerprint: dict[str, str | int] = {
        "embedding_model": embeddings.name,
        "dimensions": embeddings.dimensions,
        "chunk_max_tokens": settings.chunk_max_tokens,
        "chunker": CHUNKER_VERSION,
        "multilingual_model": multilingual.name if multilingual else "none",
    }
    client = open_client(settings.resolved_chroma_dir(), settings.chroma_url)
    store = ChunkStore(
        client,
        settings.collection,
        fingerprint,
        multilingual=multilingual is not None,
        rebuild_stale=rebuild_stale_index,
    )
    ingestor = Ingestor(
        store,
        embeddings,
        settings.corpus_dir,
        max_tokens=settings.chunk_max_tokens,
        max_bytes=int(settings.max_file_mb * 1024 * 1024),
        multilingual=multilingual,
    )
    glossary = Glossary.load(settings.glossary_path)
    retriever = Retriever(
        store, embeddings, settings.hybrid, lambda: ingestor.generation, glossary, multilingual
    )
    prompts_dir = settings.resolved_prompts_dir()
    answer_prompt = load_prompt(prompts_dir, "answer")
    condense_prompt = load_prompt(prompts_dir, "condense")

    def make_chain() -> RagChain:
        if chat_model is None:
            model = load_chat_model(settings, model_progress)
        elif isinstance(chat_model, BaseChatModel):
            model = chat_model
        else:
            model = chat_model()
        encoder = evidence_encoder or (
            MiniLMEncoder(embeddings) if settings.evidence_model == "minilm" else e5
        )
        answering = AnswerStep(TextAnalyser(), encoder, glossary)
        answering.warm_up()  # loads spaCy with the language model, not on the first question
        return RagChain(
            retriever,
            model,
            answering,
            answer_prompt,
            condense_prompt,
            ChainSettings(top_k=settings.top_k, min_relevance=settings.min_relevance, rerank=settings.rerank),
            OverviewPassages(store, embeddings),
        )

    return Assistant(settings, embeddings, store, ingestor, retriever, make_chain)


def build_eval_runs(assistant: Assistant) -> EvalRuns:
    """Runs of the configured test question set on ``assistant``, kept under ``data_dir/eval-runs``."""
    settings = assistant.settings
    return EvalRuns(assistant, settings.eval_questions, settings.data_dir / "eval-runs", ChatPriority())
