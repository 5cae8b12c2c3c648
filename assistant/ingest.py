"""Ingest: load, split, embed and index files; skip unchanged ones, replace changed ones, drop removed ones.

Crash safety: a document's manifest record is written ``pending`` before its chunks and ``ready`` after
them, and chunk ids are deterministic, so re-running an interrupted ingest converges on the same index.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

from assistant.chunking import split_document
from assistant.embeddings import LocalEmbeddings
from assistant.errors import LoaderError
from assistant.loaders import iter_corpus_files, load_document
from assistant.store import ChunkStore
from assistant.types import DocumentInfo, FileOutcome, IngestReport

ProgressCallback = Callable[[int, int, str], None]  # (files done, files in all, current source)


class Ingestor:
    """Keeps the index in step with the files. One ingest at a time per process."""

    def __init__(
        self,
        store: ChunkStore,
        embeddings: LocalEmbeddings,
        corpus_dir: Path,
        max_tokens: int,
        max_bytes: int,
    ) -> None:
        self.store = store
        self.embeddings = embeddings
        self.corpus_dir = corpus_dir
        self.max_tokens = max_tokens
        self.max_bytes = max_bytes
        self.lock = threading.Lock()
        self.generation = 0  # bumped whenever the index changes (retrievers rebuild caches on it)

    def source_for(self, path: Path) -> str:
        """How a file is named in the index: relative to the corpus folder, else its absolute path."""
        resolved = path.resolve()
        try:
            return resolved.relative_to(self.corpus_dir.resolve()).as_posix()
        except ValueError:
            return resolved.as_posix()

    def path_for(self, source: str) -> Path:
        path = Path(source)
        return path if path.is_absolute() else self.corpus_dir / path

    def ingest(
        self,
        paths: Sequence[Path] | None = None,
        rebuild: bool = False,
        progress: ProgressCallback | None = None,
    ) -> IngestReport:
        """Bring the index in step with ``paths`` (default: the corpus folder)."""
        started = time.perf_counter()
        roots = list(paths) if paths else [self.corpus_dir]
        report = IngestReport()
        with self.lock:
            if rebuild:
                self.store.reset()
            files: list[Path] = []
            for root in roots:
                if not root.exists():
                    report.outcomes.append(FileOutcome(str(root), "failed", error="no such file or folder"))
                    continue
                files.extend(iter_corpus_files(root))
            report.outcomes.extend(self._remove_stale(roots, files))
            for done, path in enumerate(files):
                source = self.source_for(path)
                if progress:
                    progress(done, len(files), source)
                report.outcomes.append(self._ingest_file(path, source))
            if progress:
                progress(len(files), len(files), "")
            self.generation += 1
        report.seconds = time.perf_counter() - started
        return report

    def _ingest_file(self, path: Path, source: str) -> FileOutcome:
        try:
            document = load_document(path, source, self.max_bytes)
        except LoaderError as err:
            return FileOutcome(source, "failed", error=str(err))
        except OSError as err:
            return FileOutcome(source, "failed", error=f"cannot read the file: {err.strerror or err}")
        known = self.store.get_document(source)
        if known and known[1] == "ready" and known[0].content_hash == document.content_hash:
            return FileOutcome(source, "unchanged", chunks=known[0].chunks)
        chunks = split_document(document, self.embeddings.count_tokens, self.max_tokens)
        if not chunks:
            return FileOutcome(source, "failed", error="has no text to index")
        now = datetime.now(UTC).isoformat(timespec="seconds")
        info = DocumentInfo(
            source=source,
            title=document.title,
            chunks=len(chunks),
            content_hash=document.content_hash,
            added_at=known[0].added_at if known else now,
            size=path.stat().st_size,
        )
        self.store.put_document(info, state="pending")
        vectors = self.embeddings.embed_documents([c.text for c in chunks])
        self.store.upsert(chunks, vectors)
        if known:  # without a record there are no chunks: the record is written before them, and a removal
            # deletes the chunks before the record; a filtered delete costs ~60 ms at 100k chunks
            self.store.delete_chunks(source, keep_hash=document.content_hash)
        self.store.put_document(info, state="ready")
        return FileOutcome(source, "updated" if known else "added", chunks=len(chunks))

    def _remove_stale(self, roots: Sequence[Path], files: Sequence[Path]) -> list[FileOutcome]:
        """Remove indexed documents whose file, under one of the scanned folders, is gone."""
        present = {self.source_for(f) for f in files}
        folders = [root.resolve() for root in roots if root.is_dir()]
        outcomes = []
        for info in self.store.list_documents(include_pending=True):
            if info.source in present:
                continue
            path = self.path_for(info.source).resolve()
            if any(path.is_relative_to(folder) for folder in folders) and not path.exists():
                self.store.remove_document(info.source)
                outcomes.append(FileOutcome(info.source, "removed", chunks=info.chunks))
        return outcomes

    def remove(self, source: str) -> bool:
        """Remove a document from the index (its file, if any, is left alone)."""
        with self.lock:
            removed = self.store.remove_document(source)
            self.generation += 1
        return removed
