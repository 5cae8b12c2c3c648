"""Citation markers and sentences: ``[n]`` parsed in its many forms, answers cut into sentences, the
model's refusals recognised. What a sentence may claim is decided in ``assistant/answering/support.py``.
"""

from __future__ import annotations

import re

from assistant.sentences import sentence_pieces

MARKER = re.compile(r"\s*\[(?:passages?\s*)?(\d{1,3}(?:\s*(?:,|;|and|-)\s*\d{1,3})*)\]", re.IGNORECASE)
_LEADING_MARKERS = re.compile(r"^(\s*\[[^\]]{1,20}\])+")
REFUSAL_PATTERNS = [
    re.compile(p, re.IGNORECASE)
    for p in (
        r"\bNOT IN (THE )?DOCUMENTS\b",
        r"\b(passages?|documents?|context|text|article|sources?)\b[^.]{0,60}\b(do|does|did)\s*(n[o']?t|not)\b"
        r"[^.]{0,30}\b(say|state|mention|specify|provide|contain|include|give|indicate|cover|discuss)",
        r"\bno (specific )?(information|mention|details?)\b",
        r"\b(is|are|was|were) not (explicitly )?"
        r"(mentioned|specified|stated|provided|given|available|included)\b",
        r"\b(I|we) (cannot|can't|can not|am unable to|do not know|don't know)\b",
    )
]


def split_sentences(text: str) -> list[str]:
    """Sentences with their trailing ``[n]`` markers attached (also markers after the full stop)."""
    pieces = sentence_pieces(text.strip())
    sentences: list[str] = []
    for piece in pieces:
        lead = _LEADING_MARKERS.match(piece)
        if lead and sentences:
            sentences[-1] += " " + lead.group(0).strip()
            piece = piece[lead.end() :].strip()
        if piece:
            sentences.append(piece)
    return sentences


def cited_numbers(sentence: str) -> list[int]:
    numbers: list[int] = []
    for match in MARKER.finditer(sentence):
        for part in re.split(r"\s*(?:,|;|and)\s*", match.group(1)):
            if "-" in part:
                low, high = (int(x) for x in part.split("-")[:2])
                numbers.extend(range(low, min(high, low + 10) + 1))
            elif part.strip().isdigit():
                numbers.append(int(part))
    return list(dict.fromkeys(numbers))


def strip_markers(sentence: str) -> str:
    return MARKER.sub("", sentence).strip()


def is_refusal(text: str) -> bool:
    first = split_sentences(text)[:1]
    return bool(first) and any(p.search(strip_markers(first[0])) for p in REFUSAL_PATTERNS)
