"""Questions about the documents as a whole: "Summarise the article", "Which documents do you have?".

Such a question names no topic, so no passage is similar to it and the relevance gate would answer "the
documents don't say". When the gate would refuse a question that asks for an overview, the chain answers it
from the opening passages of one document instead: the one the question names (a word of its title or file
name), else the one added last (staff upload a file and ask what it says).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from assistant.chunking import chunk_id
from assistant.embeddings import LocalEmbeddings
from assistant.retrieval import terms
from assistant.store import ChunkStore, to_passage
from assistant.types import DocumentInfo, Passage

_OVERVIEW = re.compile(
    r"\b(summar(y|ies|i[sz]e|i[sz]ing)|overview|gist|tl;?dr|main (points|ideas)|key (points|takeaways)|"
    r"what (is|'s) (this|the|that) (article|document|text|file|report|piece|story) about|"
    r"what does (this|the|that) (article|document|text|file|report|piece|story) (say|cover))\b",
    re.IGNORECASE,
)
# words that name the kind of request, not a document
_GENERIC = frozenset(
    terms(
        "summarise summarize summary overview gist main key points ideas takeaways article document text "
        "file report piece story sentence sentences paragraph short brief briefly give me please about say "
        "cover what this that the two three one few"
    )
)
# kinds of document: "the article" picks a document whose title or file name says "article", if one does
_KINDS = frozenset(terms("article document text report piece story memo note notes readout letter"))


_CATALOGUE = re.compile(
    r"\b(which|what) (documents|docs|files|sources|articles)\b[^?]{0,40}\b(have|got|know|use|indexed|"
    r"loaded|available|there)\b|\b(list|show) (me )?(the |your |all )?(documents|docs|files|sources)\b",
    re.IGNORECASE,
)


_TOPICAL = re.compile(r"\b(about|on|regarding|concerning|mention\w*|cover\w*|say)\b", re.IGNORECASE)


def asks_for_overview(question: str) -> bool:
    return bool(_OVERVIEW.search(question))


def asks_for_catalogue(question: str) -> bool:
    """'Which documents do you have?': answered with the list of indexed documents, not from passages."""
    return bool(_CATALOGUE.search(question)) and not _TOPICAL.search(question)


def catalogue_text(documents: Sequence[DocumentInfo]) -> str:
    if not documents:
        return "No documents are indexed yet: add files to the corpus folder or upload them."
    lines = [
        f"- “{info.title}” ({info.source}, {info.chunks} passage{'s' if info.chunks != 1 else ''})"
        for info in sorted(documents, key=lambda info: info.added_at, reverse=True)
    ]
    count = f"{len(documents)} document{'s' if len(documents) != 1 else ''}"
    return f"I answer from {count}, newest first:\n" + "\n".join(lines)


class OverviewPassages:
    def __init__(self, store: ChunkStore, embeddings: LocalEmbeddings) -> None:
        self.store = store
        self.embeddings = embeddings

    def choose(self, question: str, documents: Sequence[DocumentInfo]) -> DocumentInfo | None:
        """The document the question names (most shared title or file-name words; then the kind of
        document it asks for, "the article"), else the newest."""
        if not documents:
            return None
        words = set(terms(question))
        asked, kind = words - _GENERIC, words & _KINDS

        def named(info: DocumentInfo) -> tuple[int, int]:
            said = set(terms(f"{info.title} {re.sub(r'[._/-]+', ' ', info.source)}"))
            return len(asked & said), len(kind & said)

        return max(documents, key=lambda info: (named(info), info.added_at, info.source))

    def names_a_kind(self, question: str) -> bool:
        """Does the question ask about one whole document by its kind ("Summarise *the article*") that an
        indexed document's title or file name says, and about no topic in it ("...about China")?"""
        kind = set(terms(question)) & _KINDS
        if not kind or _TOPICAL.search(question):
            return False
        return any(
            kind & set(terms(f"{info.title} {re.sub(r'[._/-]+', ' ', info.source)}"))
            for info in self.store.list_documents()
        )

    def catalogue(self) -> str:
        """The answer to 'Which documents do you have?'."""
        return catalogue_text(self.store.list_documents())

    def opening(self, question: str, k: int) -> list[Passage]:
        """The first ``k`` passages of the chosen document, in order, scored by similarity to ``question``."""
        info = self.choose(question, self.store.list_documents())
        if info is None:
            return []
        ids = [chunk_id(info.source, info.content_hash, i) for i in range(min(k, info.chunks))]
        found = {cid: (text, meta, vec) for cid, text, meta, vec in self.store.fetch(ids, embeddings=True)}
        if not found:
            return []
        query = self.embeddings.encode([question])[0]
        return [
            to_passage(cid, text, meta, float(np.dot(np.asarray(vec, dtype=np.float32), query)))
            for cid in ids
            if cid in found
            for text, meta, vec in [found[cid]]
        ]
