"""Chroma: the chunk collection, a small document manifest beside it, and the index fingerprint.

Embedded by default (a persistent folder), or a Chroma server when a URL is configured. The manifest
collection holds one record per document; a document whose record says ``ready`` is complete, which is
what makes an interrupted ingest safe to re-run.

With ``multilingual``, a third collection holds every chunk again (same ids, no text) under the vectors of
a model that reads several languages, so a question finds passages written in another language.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import chromadb
import numpy as np
from chromadb.config import Settings as ChromaSettings

from assistant.errors import StoreError
from assistant.types import Chunk, DocumentInfo, Passage

MAX_BATCH = 5000  # Chroma refuses batches above ~5461 records
_UNIT = [1.0]  # manifest records carry no meaningful vector


def open_client(chroma_dir: Path, chroma_url: str | None) -> Any:
    """A Chroma client: HTTP when ``chroma_url`` is set, else a persistent folder."""
    settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    if chroma_url:
        url = urlparse(chroma_url)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise StoreError(f"ASSISTANT_CHROMA_URL must look like http://host:port, not {chroma_url!r}")
        try:
            return chromadb.HttpClient(
                host=url.hostname,
                port=url.port or (443 if url.scheme == "https" else 8000),
                ssl=url.scheme == "https",
                settings=settings,
            )
        except Exception as err:
            raise StoreError(f"Cannot reach the Chroma server at {chroma_url}: {err}") from err
    chroma_dir.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(chroma_dir), settings=settings)


class StaleIndex(StoreError):
    """The index was built with other settings than the current ones."""


class ChunkStore:
    """The chunks and the document manifest of one index."""

    def __init__(
        self,
        client: Any,
        name: str,
        fingerprint: dict[str, str | int],
        multilingual: bool = False,
        rebuild_stale: bool = False,
    ) -> None:
        """Open the index ``name``. One built with another fingerprint is refused, or, with ``rebuild_stale``,
        emptied for a rebuild (``replaced`` then lists the documents it held)."""
        if len(name) < 3:
            raise StoreError("The collection name needs at least 3 characters.")
        self.client = client
        self.name = name
        self.fingerprint = {k: str(v) for k, v in fingerprint.items()}
        self.replaced: list[str] | None = None
        self.manifest = self._open(f"{name}-manifest", check=False)
        self.multilingual = self._open(f"{name}-multilingual", check=False) if multilingual else None
        try:
            self.chunks = self._open(name, check=True)
        except StaleIndex:
            if not rebuild_stale:
                raise
            self.replaced = list(self.manifest.get(include=[])["ids"])
            self.reset()

    def _open(self, name: str, check: bool) -> Any:
        metadata: dict[str, Any] = {"hnsw:space": "cosine"}
        if check:
            metadata["fingerprint"] = json.dumps(self.fingerprint, sort_keys=True)
        collection = self.client.get_or_create_collection(
            name=name, metadata=metadata, embedding_function=None
        )
        if check:
            stored = json.loads((collection.metadata or {}).get("fingerprint", "{}"))
            if stored != self.fingerprint:
                raise StaleIndex(
                    f"The index '{name}' was built with {stored or 'unknown settings'}, but the current "
                    f"settings need {self.fingerprint}. Run `assistant ingest`: it rebuilds the index from "
                    "the files."
                )
        return collection

    def reset(self) -> None:
        """Drop everything and start an empty index with the current fingerprint."""
        existing = {c if isinstance(c, str) else c.name for c in self.client.list_collections()}
        for name in (self.name, f"{self.name}-manifest", f"{self.name}-multilingual"):
            if name in existing:
                self.client.delete_collection(name)
        self.chunks = self._open(self.name, check=True)
        self.manifest = self._open(f"{self.name}-manifest", check=False)
        if self.multilingual is not None:
            self.multilingual = self._open(f"{self.name}-multilingual", check=False)

    # --- chunks ------------------------------------------------------------------------------------
    def upsert(
        self,
        chunks: Sequence[Chunk],
        embeddings: Sequence[Sequence[float]] | np.ndarray,
        multilingual: np.ndarray | None = None,
    ) -> None:
        """Write ``chunks`` with their vectors (and, in a multilingual index, ``multilingual`` vectors:
        written first, so a chunk that can be found is found by both)."""
        if self.multilingual is not None:
            if multilingual is None:
                raise StoreError("A multilingual index needs the multilingual vectors of every chunk.")
            self._upsert(self.multilingual, chunks, np.asarray(multilingual, dtype=np.float32), texts=False)
        self._upsert(self.chunks, chunks, np.asarray(embeddings, dtype=np.float32), texts=True)

    @staticmethod
    def _upsert(collection: Any, chunks: Sequence[Chunk], vectors: np.ndarray, texts: bool) -> None:
        for i in range(0, len(chunks), MAX_BATCH):  # Chroma takes arrays as they are
            batch = chunks[i : i + MAX_BATCH]
            collection.upsert(
                ids=[c.id for c in batch],
                documents=[c.text for c in batch] if texts else None,
                metadatas=[c.metadata() for c in batch],
                embeddings=vectors[i : i + MAX_BATCH],
            )

    def delete_chunks(self, source: str, keep_hash: str | None = None) -> None:
        """Delete the chunks of ``source`` (all of them, or all but those of ``keep_hash``)."""
        where: dict[str, Any] = {"source": source}
        if keep_hash is not None:
            where = {"$and": [{"source": source}, {"content_hash": {"$ne": keep_hash}}]}
        self.chunks.delete(where=where)
        if self.multilingual is not None:
            self.multilingual.delete(where=where)

    def count_chunks(self, source: str | None = None, content_hash: str | None = None) -> int:
        if source is None:
            return int(self.chunks.count())
        where: dict[str, Any] = {"source": source}
        if content_hash is not None:
            where = {"$and": [{"source": source}, {"content_hash": content_hash}]}
        return len(self.chunks.get(where=where, include=[])["ids"])

    def iter_chunks(self, page: int = MAX_BATCH) -> Iterator[tuple[str, str, dict[str, Any]]]:
        """Every stored chunk as (id, text, metadata), page by page."""
        offset = 0
        while True:
            got = self.chunks.get(include=["documents", "metadatas"], limit=page, offset=offset)
            if not got["ids"]:
                return
            yield from zip(got["ids"], got["documents"], got["metadatas"], strict=True)
            offset += len(got["ids"])

    def chunk_ids(self, page: int = MAX_BATCH) -> list[str]:
        """The ids of every stored chunk (no texts, no vectors)."""
        ids: list[str] = []
        while True:
            got = self.chunks.get(include=[], limit=page, offset=len(ids))
            if not got["ids"]:
                return ids
            ids.extend(got["ids"])

    def texts(self, chunk_ids: Sequence[str], page: int = MAX_BATCH) -> Iterator[tuple[str, str]]:
        """(id, text) of the chunks ``chunk_ids`` (ids that are gone are skipped)."""
        for i in range(0, len(chunk_ids), page):
            got = self.chunks.get(ids=list(chunk_ids[i : i + page]), include=["documents"])
            yield from zip(got["ids"], got["documents"], strict=True)

    def query(self, embedding: Sequence[float] | np.ndarray, k: int) -> list[Passage]:
        """The ``k`` nearest chunks, scored by cosine similarity (1 - cosine distance)."""
        found = self.nearest(embedding, k)
        return [found.passage(i) for i in range(len(found.ids))]

    def nearest(self, embedding: Sequence[float] | np.ndarray, k: int, texts: bool = True) -> Nearest:
        """The ``k`` nearest chunks as Chroma returns them; ``texts=False``: ids and distances only."""
        if k <= 0:
            return Nearest([], [], [], [])
        got = self.chunks.query(  # an empty collection answers with no results: no count() round trip
            query_embeddings=np.asarray(embedding, dtype=np.float32).reshape(1, -1),
            n_results=k,
            include=["documents", "metadatas", "distances"] if texts else ["distances"],
        )
        if not texts:
            return Nearest(got["ids"][0], [], [], got["distances"][0])
        return Nearest(got["ids"][0], got["documents"][0], got["metadatas"][0], got["distances"][0])

    def nearest_multilingual(self, embedding: np.ndarray | None, k: int) -> Nearest:
        """The ids and distances of the ``k`` chunks nearest ``embedding`` under the multilingual vectors
        (none without an embedding or a multilingual index)."""
        if embedding is None or self.multilingual is None or k <= 0:
            return Nearest([], [], [], [])
        got = self.multilingual.query(
            query_embeddings=np.asarray(embedding, dtype=np.float32).reshape(1, -1),
            n_results=k,
            include=["distances"],
        )
        return Nearest(got["ids"][0], [], [], got["distances"][0])

    def multilingual_vectors(self, chunk_ids: Sequence[str]) -> dict[str, np.ndarray]:
        """The multilingual vectors of ``chunk_ids`` (none without a multilingual index)."""
        if self.multilingual is None or not chunk_ids:
            return {}
        got = self.multilingual.get(ids=list(chunk_ids), include=["embeddings"])
        return {
            i: np.asarray(v, dtype=np.float32) for i, v in zip(got["ids"], got["embeddings"], strict=True)
        }

    def fetch(
        self, chunk_ids: Sequence[str], embeddings: bool = False
    ) -> Iterator[tuple[str, str, dict[str, Any], Any]]:
        """(id, text, metadata, vector or None) of ``chunk_ids`` in one call; gone ids are skipped."""
        if not chunk_ids:
            return
        include = ["documents", "metadatas", "embeddings"] if embeddings else ["documents", "metadatas"]
        got = self.chunks.get(ids=list(chunk_ids), include=include)
        vectors = got["embeddings"] if embeddings else [None] * len(got["ids"])
        yield from zip(got["ids"], got["documents"], got["metadatas"], vectors, strict=True)

    # --- manifest ----------------------------------------------------------------------------------
    def put_documents(self, infos: Sequence[DocumentInfo], state: str) -> None:
        """Write the manifest records of ``infos`` with ``state`` (pending or ready) in one call."""
        for i in range(0, len(infos), MAX_BATCH):
            part = infos[i : i + MAX_BATCH]
            self.manifest.upsert(
                ids=[info.source for info in part],
                embeddings=[_UNIT] * len(part),
                documents=[info.title for info in part],
                metadatas=[
                    {
                        "source": info.source,
                        "title": info.title,
                        "chunks": info.chunks,
                        "content_hash": info.content_hash,
                        "added_at": info.added_at,
                        "size": info.size,
                        "state": state,
                    }
                    for info in part
                ],
            )

    def get_document(self, source: str) -> tuple[DocumentInfo, str] | None:
        got = self.manifest.get(ids=[source], include=["metadatas"])
        if not got["ids"]:
            return None
        meta = got["metadatas"][0]
        return _to_info(meta), str(meta.get("state", "ready"))

    def list_sources(self) -> list[str]:
        """The sources of every manifest record, pending ones included (no metadata read)."""
        return list(self.manifest.get(include=[])["ids"])

    def list_documents(self, include_pending: bool = False) -> list[DocumentInfo]:
        got = self.manifest.get(include=["metadatas"])
        return sorted(
            (
                _to_info(meta)
                for meta in got["metadatas"]
                if include_pending or meta.get("state", "ready") == "ready"
            ),
            key=lambda info: info.source,
        )

    def remove_document(self, source: str) -> bool:
        """Delete a document's chunks, then its manifest record. False if it was not indexed."""
        known = self.get_document(source) is not None or self.count_chunks(source) > 0
        self.delete_chunks(source)
        self.manifest.delete(ids=[source])
        return known


@dataclass(frozen=True)
class Nearest:
    """One vector query's results, in Chroma's order (nearest first); without texts, ``documents`` and
    ``metadatas`` are empty."""

    ids: list[str]
    documents: list[str]
    metadatas: list[dict[str, Any]]
    distances: list[float]

    def passage(self, i: int) -> Passage:
        """The ``i``-th result as a passage scored by cosine similarity (1 - cosine distance)."""
        return to_passage(self.ids[i], self.documents[i], self.metadatas[i], 1.0 - float(self.distances[i]))


def to_passage(chunk_id: str, text: str, meta: dict[str, Any], score: float) -> Passage:
    return Passage(
        chunk_id=chunk_id,
        text=text,
        source=str(meta.get("source", "")),
        title=str(meta.get("title", "")),
        position=int(meta.get("position", 0)),
        start=int(meta.get("start", 0)),
        end=int(meta.get("end", 0)),
        score=score,
    )


def _to_info(meta: dict[str, Any]) -> DocumentInfo:
    return DocumentInfo(
        source=str(meta["source"]),
        title=str(meta.get("title", "")),
        chunks=int(meta.get("chunks", 0)),
        content_hash=str(meta.get("content_hash", "")),
        added_at=str(meta.get("added_at", "")),
        size=int(meta.get("size", 0)),
    )
