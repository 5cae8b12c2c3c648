"""The ``Assistant``: the one object the CLI and the web app talk to.

It owns the index, the retriever and (loaded on first use, once per process) the chat chain.
"""

from __future__ import annotations

import re
import shutil
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from assistant.config import Settings
from assistant.embeddings import LocalEmbeddings
from assistant.ingest import Ingestor, ProgressCallback
from assistant.loaders import SUPPORTED_SUFFIXES
from assistant.rag import RagChain, Turn
from assistant.retrieval import Retriever
from assistant.store import ChunkStore
from assistant.types import Answer, DocumentInfo, IngestReport, Passage, Token

_UNSAFE = re.compile(r"[^\w.\- ]+", re.UNICODE)


def safe_filename(name: str) -> str:
    """A file name with no folders, no traversal and no odd characters ('../../x.md' -> 'x.md')."""
    base = Path(name.replace("\\", "/")).name
    cleaned = _UNSAFE.sub("_", base).strip(" .")
    return cleaned[:150] or "document"


@dataclass
class Assistant:
    settings: Settings
    embeddings: LocalEmbeddings
    store: ChunkStore
    ingestor: Ingestor
    retriever: Retriever
    chain_factory: Callable[[], RagChain]
    _chain: RagChain | None = field(default=None, init=False)
    _chain_lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    # --- answers -----------------------------------------------------------------------------------
    @property
    def chain(self) -> RagChain:
        """The retrieval chain; the first call loads the language model."""
        with self._chain_lock:
            if self._chain is None:
                self._chain = self.chain_factory()
            return self._chain

    @property
    def model_loaded(self) -> bool:
        return self._chain is not None

    def stream(self, question: str, history: Sequence[Turn] = ()) -> Iterator[Token | Answer]:
        return self.chain.stream(question, history)

    def ask(self, question: str, history: Sequence[Turn] = ()) -> Answer:
        return self.chain.ask(question, history)

    def search(self, query: str, k: int = 5) -> list[Passage]:
        return self.retriever.retrieve(query, k)

    # --- documents ---------------------------------------------------------------------------------
    def ingest(
        self,
        paths: Sequence[Path] | None = None,
        rebuild: bool = False,
        progress: ProgressCallback | None = None,
    ) -> IngestReport:
        return self.ingestor.ingest(paths, rebuild=rebuild, progress=progress)

    def documents(self) -> list[DocumentInfo]:
        return self.store.list_documents()

    def remove_document(self, source: str) -> bool:
        """Take a document out of the index; its file (if in the corpus) moves to data/removed/."""
        path = self.ingestor.path_for(source)
        removed = self.ingestor.remove(source)
        corpus = self.settings.corpus_dir.resolve()
        if path.is_file() and path.resolve().is_relative_to(corpus):
            trash = self.settings.data_dir / "removed"
            trash.mkdir(parents=True, exist_ok=True)
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
            shutil.move(str(path), trash / f"{stamp}-{path.name}")
            removed = True
        return removed

    def corpus_target(self, filename: str) -> Path:
        """Where an uploaded file of this name would be saved in the corpus."""
        return self.settings.corpus_dir / safe_filename(filename)

    def add_files(
        self,
        files: Sequence[tuple[str, Path]],
        overwrite: bool = False,
        progress: ProgressCallback | None = None,
    ) -> IngestReport:
        """Copy uploaded files (original name, temp path) into the corpus and index them.

        A name that already exists is not overwritten unless ``overwrite``: it is reported as failed.
        """
        from assistant.types import FileOutcome

        report = IngestReport()
        saved: list[Path] = []
        self.settings.corpus_dir.mkdir(parents=True, exist_ok=True)
        for name, temp in files:
            target = self.corpus_target(name)
            if target.suffix.lower() not in SUPPORTED_SUFFIXES:
                supported = " ".join(sorted(SUPPORTED_SUFFIXES))
                report.outcomes.append(
                    FileOutcome(
                        target.name, "failed", error=f"unsupported file type (supported: {supported})"
                    )
                )
                continue
            if target.exists() and not overwrite:
                report.outcomes.append(
                    FileOutcome(target.name, "failed", error="a document with this name exists already")
                )
                continue
            partial = target.with_name(f".{target.name}.uploading")
            shutil.copyfile(temp, partial)
            partial.replace(target)
            saved.append(target)
        if saved:
            done = self.ingestor.ingest(saved, progress=progress)
            report.outcomes.extend(done.outcomes)
            report.seconds = done.seconds
            for outcome in done.failures():
                bad = self.ingestor.path_for(outcome.source)
                if bad in saved and bad.exists():
                    bad.unlink()  # a file that cannot be indexed is not left in the corpus
        return report

    def check_file(self, path: Path, name: str | None = None) -> None:
        """Raise ``LoaderError`` if ``path`` cannot be read as a document; nothing is saved or indexed.

        The web app checks a replacement before ``add_files(..., overwrite=True)``, so a bad file never
        takes the place of a good one.
        """
        from assistant.loaders import load_document

        load_document(path, safe_filename(name or path.name), self.ingestor.max_bytes)
