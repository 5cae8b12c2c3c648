"""Split a document into passages that follow its paragraphs and fit the embedding model's window.

Every chunk is an exact slice ``text[start:end]`` of the document, so a citation can point at the
words themselves. Nothing is truncated: a paragraph over the token limit is split at sentence
boundaries, and a sentence over the limit at word boundaries.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterator

from assistant.sentences import SENTENCE_END
from assistant.types import Chunk, LoadedDocument

TokenCounter = Callable[[str], int]
CHUNKER_VERSION = "paragraph-v1"

_BLANK_LINE = re.compile(r"\n[ \t]*\n")
_WORD = re.compile(r"\S+")
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s")
_NEWLINE = re.compile(r"\n")
_MIN_PARAGRAPH_CHARS = 40
_WRAPPED_LINE = 100


def chunk_id(source: str, content_hash: str, position: int) -> str:
    """Deterministic id: the same file content always gives the same ids."""
    source_key = hashlib.sha1(source.encode("utf-8")).hexdigest()[:12]
    return f"{source_key}-{content_hash[:12]}-{position:04d}"


def _split_at(
    text: str, start: int, end: int, separator: re.Pattern[str], keep_separator: bool = False
) -> list[tuple[int, int]]:
    """Stripped spans of ``text[start:end]`` between matches of ``separator``.

    With ``keep_separator`` a match stays at the end of the span before it (closing quotes after a full stop).
    """
    spans: list[tuple[int, int]] = []
    position = start
    for match in separator.finditer(text, start, end):
        spans.extend(_strip_span(text, position, match.end() if keep_separator else match.start()))
        position = match.end()
    spans.extend(_strip_span(text, position, end))
    return spans


def paragraph_spans(text: str) -> list[tuple[int, int]]:
    """Character spans of the paragraphs.

    Blocks are separated by blank lines. Inside a block, lines are paragraphs of their own when the text is
    not hard-wrapped (some line is longer than a wrapped line would be); a hard-wrapped block stays whole.
    A heading or a very short paragraph is joined to the paragraph after it.
    """
    spans: list[tuple[int, int]] = []
    for start, end in _split_at(text, 0, len(text), _BLANK_LINE):
        lines = text[start:end].split("\n")
        if len(lines) > 1 and max(len(line) for line in lines) > _WRAPPED_LINE:
            spans.extend(_split_at(text, start, end, _NEWLINE))
        else:
            spans.append((start, end))
    merged: list[tuple[int, int]] = []
    pending: tuple[int, int] | None = None
    for start, end in spans:
        own = text[start:end]
        if pending is not None:
            start, pending = pending[0], None
        if _HEADING.match(own) or len(own) < _MIN_PARAGRAPH_CHARS:
            pending = (start, end)
            continue
        merged.append((start, end))
    if pending is not None:
        if merged:
            merged[-1] = (merged[-1][0], pending[1])
        else:
            merged.append(pending)
    return merged


def _strip_span(text: str, start: int, end: int) -> Iterator[tuple[int, int]]:
    piece = text[start:end]
    stripped = piece.strip()
    if stripped:
        offset = start + piece.index(stripped)
        yield offset, offset + len(stripped)


def _pack(
    text: str, spans: list[tuple[int, int]], count: TokenCounter, max_tokens: int
) -> list[tuple[int, int]]:
    """Greedily join consecutive spans while the joined slice fits ``max_tokens``."""
    packed: list[tuple[int, int]] = []
    for start, end in spans:
        if packed and count(text[packed[-1][0] : end]) <= max_tokens:
            packed[-1] = (packed[-1][0], end)
        else:
            packed.append((start, end))
    return packed


def _fit(text: str, start: int, end: int, count: TokenCounter, max_tokens: int) -> list[tuple[int, int]]:
    """Spans covering ``text[start:end]``, each within ``max_tokens``."""
    if count(text[start:end]) <= max_tokens:
        return [(start, end)]
    sentences = _split_at(text, start, end, SENTENCE_END, keep_separator=True)
    if len(sentences) > 1:
        fitted = [span for s, e in sentences for span in _fit(text, s, e, count, max_tokens)]
        return _pack(text, fitted, count, max_tokens)
    words = [(m.start(), m.end()) for m in _WORD.finditer(text, start, end)]
    if len(words) > 1:
        return _pack(text, words, count, max_tokens)
    # One enormous "word" (e.g. a long URL or unspaced CJK text): cut it by characters.
    spans = []
    position = start
    while position < end:
        stop = min(end, position + max(1, (end - start) * max_tokens // max(1, count(text[start:end]))))
        while stop - position > 1 and count(text[position:stop]) > max_tokens:
            stop = position + (stop - position) * 3 // 4
        spans.append((position, stop))
        position = stop
    return spans


def split_document(document: LoadedDocument, count_tokens: TokenCounter, max_tokens: int) -> list[Chunk]:
    """Split ``document`` into chunks of at most ``max_tokens`` tokens, following its paragraphs."""
    text = document.text
    spans = [
        span
        for start, end in paragraph_spans(text)
        for span in _fit(text, start, end, count_tokens, max_tokens)
    ]
    return [
        Chunk(
            id=chunk_id(document.source, document.content_hash, position),
            text=text[start:end],
            source=document.source,
            title=document.title,
            position=position,
            start=start,
            end=end,
            content_hash=document.content_hash,
        )
        for position, (start, end) in enumerate(spans)
    ]
