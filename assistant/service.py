"""The ``Assistant``: the one object the CLI and the web app talk to.

It owns the index, the retriever and (loaded on first use, once per process) the chat chain.
"""

from __future__ import annotations

import os
import re
import shutil
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from assistant.config import Settings
from assistant.embeddings import LocalEmbeddings
from assistant.errors import LoaderError
from assistant.ingest import Ingestor, ProgressCallback
from assistant.loaders import SUPPORTED_SUFFIXES, load_document
from assistant.rag import RagChain, Turn
from assistant.retrieval import Retriever
from assistant.store import ChunkStore
from assistant.types import Answer, DocumentInfo, Evidence, FileOutcome, IngestReport, Passage, Token

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

    def stream(self, question: str, history: Sequence[Turn] = ()) -> Iterator[Evidence | Token | Answer]:
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
        Each file is first written under a hidden temporary name and checked; only a readable file takes
        its real name (an atomic rename), so a crash never leaves half a file under a real name. A
        replaced document's old file is kept aside until the new one is indexed, and restored if it
        cannot be.
        """
        report = IngestReport()
        staged: dict[Path, Path | None] = {}  # saved target -> backup of the file it replaced (or None)
        self.settings.corpus_dir.mkdir(parents=True, exist_ok=True)
        for name, temp in files:
            target = self.corpus_target(name)
            error = self._upload_refusal(target, overwrite, staged)
            if error is None:
                error = self._stage(target, temp, staged)
            if error is not None:
                report.outcomes.append(FileOutcome(target.name, "failed", error=error))
        if not staged:
            return report
        try:
            done = self.ingestor.ingest(list(staged), progress=progress)
        except BaseException:
            for target, backup in staged.items():
                self._restore(target, backup)
            raise
        report.outcomes.extend(done.outcomes)
        report.seconds = done.seconds
        failed = {self.ingestor.path_for(o.source) for o in done.failures()}
        for target, backup in staged.items():
            if target in failed:
                self._restore(target, backup)  # a file that cannot be indexed is not left in the corpus
            elif backup is not None:
                backup.unlink(missing_ok=True)
        return report

    def _upload_refusal(self, target: Path, overwrite: bool, staged: dict[Path, Path | None]) -> str | None:
        if target.suffix.lower() not in SUPPORTED_SUFFIXES:
            return f"unsupported file type (supported: {' '.join(sorted(SUPPORTED_SUFFIXES))})"
        if target in staged:
            return "the same name appears twice in this upload (the first one is kept)"
        if target.exists() and not overwrite:
            return "a document with this name exists already"
        return None

    def _stage(self, target: Path, temp: Path, staged: dict[Path, Path | None]) -> str | None:
        """Copy ``temp`` to ``target`` via a hidden partial file, if it reads as a document."""
        partial = target.with_name(f".uploading-{target.name}")  # hidden: never indexed
        try:
            shutil.copyfile(temp, partial)
            load_document(partial, target.name, self.ingestor.max_bytes)
        except LoaderError as err:
            partial.unlink(missing_ok=True)
            kept = " (the old one is kept)" if target.exists() else ""
            return f"{err}{kept}"
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        backup = None
        if target.exists():
            backup = target.with_name(f".previous-{target.name}")
            backup.unlink(missing_ok=True)  # left by a crash
            try:
                os.link(target, backup)  # the old file stays reachable when the new one takes its name
            except OSError:
                shutil.copy2(target, backup)
        partial.replace(target)
        staged[target] = backup
        return None

    @staticmethod
    def _restore(target: Path, backup: Path | None) -> None:
        if backup is not None and backup.exists():
            backup.replace(target)
        else:
            target.unlink(missing_ok=True)

    def check_file(self, path: Path, name: str | None = None) -> None:
        """Raise ``LoaderError`` if ``path`` cannot be read as a document; nothing is saved or indexed.

        The web app checks a replacement before ``add_files(..., overwrite=True)``, so a bad file never
        takes the place of a good one.
        """
        load_document(path, safe_filename(name or path.name), self.ingestor.max_bytes)
