"""Plain data passed between the modules."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class LoadedDocument:
    """The text of one file, ready to be split."""

    source: str  # path relative to the corpus folder (or absolute, for files outside it)
    title: str
    text: str
    content_hash: str  # sha256 of the file's bytes
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Chunk:
    """One passage of a document, as stored in the index."""

    id: str
    text: str
    source: str
    title: str
    position: int  # 0-based index of the chunk within its document
    start: int  # character span [start, end) in the document text
    end: int
    content_hash: str

    def metadata(self) -> dict[str, str | int]:
        return {
            "source": self.source,
            "title": self.title,
            "position": self.position,
            "start": self.start,
            "end": self.end,
            "content_hash": self.content_hash,
        }


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk with its relevance score (cosine similarity, higher is closer)."""

    chunk_id: str
    text: str
    source: str
    title: str
    position: int
    start: int
    end: int
    score: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Citation:
    """A numbered reference ``[n]`` in an answer and the passage words that support it."""

    number: int
    chunk_id: str
    source: str
    title: str
    start: int
    end: int
    passage: str
    quote: str  # the sentence of the passage that best supports the answer

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Answer:
    """The checked result of one question."""

    question: str
    standalone_question: str
    text: str
    citations: list[Citation] = field(default_factory=list)
    passages: list[Passage] = field(default_factory=list)
    refused: bool = False
    refusal_reason: str | None = None
    unsupported: list[str] = field(default_factory=list)
    draft: str = ""  # what the model wrote before the citation check
    timings: dict[str, float] = field(default_factory=dict)
    outcome: str = ""  # answered | evidence | partial | refused | catalogue | leak (see answering/)
    trace: dict[str, Any] = field(default_factory=dict)  # how the answer was made (answering/trace.py)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Evidence:
    """The evidence quotes, sent as soon as they are chosen, before the language model starts."""

    text: str  # Markdown block quotes with their [n]
    citations: list[Citation]


@dataclass(frozen=True)
class Token:
    """A piece of streamed answer text."""

    text: str


@dataclass(frozen=True)
class DocumentInfo:
    """One indexed document, as listed by ``assistant docs``."""

    source: str
    title: str
    chunks: int
    content_hash: str
    added_at: str
    size: int


@dataclass
class FileOutcome:
    source: str
    status: str  # added | updated | unchanged | removed | failed
    chunks: int = 0
    error: str | None = None

    def message(self) -> str:
        """One line for people: 'a.md: reason' (loader errors already start with the file name)."""
        name = self.source.rsplit("/", 1)[-1]
        if self.error is None:
            return f"{self.source}: {self.status}"
        return self.error if self.error.startswith(name) else f"{self.source}: {self.error}"


@dataclass
class IngestReport:
    outcomes: list[FileOutcome] = field(default_factory=list)
    seconds: float = 0.0

    def count(self, status: str) -> int:
        return sum(1 for o in self.outcomes if o.status == status)

    @property
    def chunks_written(self) -> int:
        return sum(o.chunks for o in self.outcomes if o.status in ("added", "updated"))

    def summary(self) -> str:
        parts = [f"{self.count(s)} {s}" for s in ("added", "updated", "unchanged", "removed", "failed")]
        return ", ".join(parts) + f" ({self.chunks_written} chunks in {self.seconds:.1f}s)"

    def failures(self) -> list[FileOutcome]:
        return [o for o in self.outcomes if o.status == "failed"]
