"""Ingest: load, split, embed and index files; skip unchanged ones, replace changed ones, drop removed ones.

Crash safety: a document's manifest record is written ``pending`` before its chunks and ``ready`` after
them, and chunk ids are deterministic, so re-running an interrupted ingest converges on the same index.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from assistant.chunking import split_document
from assistant.embeddings import LocalEmbeddings
from assistant.errors import LoaderError
from assistant.loaders import iter_corpus_files, load_document
from assistant.sentence_encoder import SentenceEncoder
from assistant.store import ChunkStore
from assistant.types import Chunk, DocumentInfo, FileOutcome, IngestReport

# (files finished, files in all, what is going on: the file being read, or how far a batch's embedding is)
ProgressCallback = Callable[[int, int, str], None]
# Documents are written in batches of about this many chunks: one embedding pass and one upsert per batch
# instead of per document (at 100k stored chunks each Chroma write costs ~0.1 s however small it is).
BATCH_CHUNKS = 512
EMBED_SLICE_BATCHES = 4  # a large batch reports progress after every 4 embedding batches (~6 s of work)
MULTILINGUAL_SLICE = 32  # multilingual vectors are encoded 32 chunks at a time (~2 s), progress after each


@dataclass
class _Pending:
    """A loaded and split document waiting to be written."""

    info: DocumentInfo
    chunks: list[Chunk]
    replaces: bool  # the index holds an earlier version (or a pending record) of it


@dataclass
class _Batch:
    documents: list[_Pending] = field(default_factory=list)
    chunk_count: int = 0

    def add(self, document: _Pending) -> None:
        self.documents.append(document)
        self.chunk_count += len(document.chunks)


class Ingestor:
    """Keeps the index in step with the files. One ingest at a time per process."""

    def __init__(
        self,
        store: ChunkStore,
        embeddings: LocalEmbeddings,
        corpus_dir: Path,
        max_tokens: int,
        max_bytes: int,
        batch_chunks: int = BATCH_CHUNKS,
        multilingual: SentenceEncoder | None = None,
    ) -> None:
        self.store = store
        self.embeddings = embeddings
        self.multilingual = multilingual  # the model of the store's multilingual vectors, if it keeps them
        self.corpus_dir = corpus_dir
        self.max_tokens = max_tokens
        self.max_bytes = max_bytes
        self.batch_chunks = batch_chunks
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
            batch, written = _Batch(), {}
            prepared: list[FileOutcome | _Pending] = []  # in file order, as the report lists them
            for read, path in enumerate(files):
                source = self.source_for(path)
                if progress:  # files finished: read, and written unless still waiting in the batch
                    progress(read - len(batch.documents), len(files), source)
                prepared.append(self._prepare_file(path, source))
                if isinstance(prepared[-1], _Pending):
                    batch.add(prepared[-1])
                    if batch.chunk_count >= self.batch_chunks:
                        finished = read + 1 - len(batch.documents)
                        written.update(self._write(batch, _step(progress, finished, len(files))))
                        batch = _Batch()
            finished = len(files) - len(batch.documents)
            written.update(self._write(batch, _step(progress, finished, len(files))))
            report.outcomes.extend(
                written[item.info.source] if isinstance(item, _Pending) else item for item in prepared
            )
            if progress:
                progress(len(files), len(files), "")
            self.generation += 1
        report.seconds = time.perf_counter() - started
        return report

    def _prepare_file(self, path: Path, source: str) -> FileOutcome | _Pending:
        """Load and split one file: its outcome when there is nothing to write, else its pending work."""
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
        return _Pending(info, chunks, replaces=known is not None)

    def _write(self, batch: _Batch, step: Callable[[str], None] | None = None) -> dict[str, FileOutcome]:
        """Index a batch of documents: records ``pending``, then all their chunks in one embedding pass and
        one upsert, then records ``ready`` (a crash in between leaves them pending, so they are redone)."""
        if not batch.documents:
            return {}
        infos = [doc.info for doc in batch.documents]
        self.store.put_documents(infos, state="pending")
        chunks = [chunk for doc in batch.documents for chunk in doc.chunks]
        texts = [c.text for c in chunks]
        vectors = self._embed(texts, batch, step)
        self.store.upsert(chunks, vectors, self._embed_multilingual(texts, batch, step))
        for doc in batch.documents:
            if doc.replaces:  # without a record there are no chunks: the record is written before them, and
                # a removal deletes the chunks before the record; a filtered delete costs ~60 ms at 100k
                self.store.delete_chunks(doc.info.source, keep_hash=doc.info.content_hash)
        self.store.put_documents(infos, state="ready")
        return {
            doc.info.source: FileOutcome(
                doc.info.source, "updated" if doc.replaces else "added", chunks=len(doc.chunks)
            )
            for doc in batch.documents
        }

    def _embed(self, texts: list[str], batch: _Batch, step: Callable[[str], None] | None) -> np.ndarray:
        """Embed a batch's chunks; with ``step``, in slices that report how far it is (a long document
        takes minutes, and a bar that stands still looks hung)."""
        size = self.embeddings.batch_size * EMBED_SLICE_BATCHES
        if step is None or len(texts) <= size:
            return self.embeddings.encode(texts)
        names = _names(batch)
        # longest first, as sentence-transformers orders one call: the slices then form the very batches one
        # call would (same vectors, same padding; unsorted slices were padded more and ran 8-22 % slower)
        order = np.argsort([-len(text) for text in texts], kind="stable")
        parts = []
        for at in range(0, len(texts), size):
            parts.append(self.embeddings.encode([texts[i] for i in order[at : at + size]]))
            step(f"{names}: {min(at + size, len(texts)):,}/{len(texts):,} chunks embedded")
        vectors = np.concatenate(parts)
        vectors[order] = vectors.copy()
        return vectors

    def _embed_multilingual(
        self, texts: list[str], batch: _Batch, step: Callable[[str], None] | None
    ) -> np.ndarray | None:
        """The multilingual vectors of a batch's chunks, a slice at a time: the model is ~7x slower than
        the English one, and between slices a question's evidence gets its turn on it."""
        if self.multilingual is None or self.store.multilingual is None:
            return None
        names = _names(batch)
        parts = []
        for at in range(0, len(texts), MULTILINGUAL_SLICE):
            parts.append(self.multilingual.passages(texts[at : at + MULTILINGUAL_SLICE]))
            if step and len(texts) > MULTILINGUAL_SLICE:
                done = min(at + MULTILINGUAL_SLICE, len(texts))
                step(f"{names}: {done:,}/{len(texts):,} chunks embedded for other languages")
        return np.concatenate(parts)

    def _remove_stale(self, roots: Sequence[Path], files: Sequence[Path]) -> list[FileOutcome]:
        """Remove indexed documents whose file, under one of the scanned folders, is gone."""
        present = {self.source_for(f) for f in files}
        folders = [root.resolve() for root in roots if root.is_dir()]
        if not folders:
            return []
        corpus = self.corpus_dir.resolve()
        outcomes = []
        for source in self.store.list_sources():  # ids only: 2,000 documents ~0.01 s, records ~0.12 s
            if source in present:
                continue
            path = Path(source) if Path(source).is_absolute() else corpus / source  # resolved already
            if any(path.is_relative_to(folder) for folder in folders) and not path.exists():
                known = self.store.get_document(source)
                self.store.remove_document(source)
                outcomes.append(FileOutcome(source, "removed", chunks=known[0].chunks if known else 0))
        return outcomes

    def remove(self, source: str) -> bool:
        """Remove a document from the index (its file, if any, is left alone)."""
        with self.lock:
            removed = self.store.remove_document(source)
            self.generation += 1
        return removed


def _names(batch: _Batch) -> str:
    """How progress names a batch: its file, or how many files it holds."""
    return batch.documents[0].info.source if len(batch.documents) == 1 else f"{len(batch.documents)} files"


def _step(progress: ProgressCallback | None, done: int, total: int) -> Callable[[str], None] | None:
    """``progress`` with the file count fixed, for the steps inside one batch write."""
    if progress is None:
        return None
    return lambda what: progress(done, total, what)
