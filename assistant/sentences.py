"""Where sentences end: shared by the chunker, the citation check and the evidence windows, so all of them
cut text the same way."""

from __future__ import annotations

import re
from itertools import pairwise

# Right after a CJK full stop, exclamation or question mark: Japanese puts no space after them. On its own for
# the spaCy pipeline, whose English model does not know these stops (assistant/answering/language.py).
CJK_SENTENCE_END = re.compile(r"(?<=[。！？])")

# After . ! ? (and closing quotes/brackets) plus white space, or right after a CJK full stop; but not after
# "U.S."-style initials, a single capital initial ("U. S.", "John F. Kennedy") or common titles, which end in
# a dot without ending the sentence.
SENTENCE_END = re.compile(
    r"(?<![A-Z]\.[A-Z]\.)(?<!\b[A-Z]\.)(?<!\b(?:Mr|Ms|Dr|St|No|vs)\.)(?<=[.!?])[\"')\]”’]*\s+|"
    + CJK_SENTENCE_END.pattern
)


def sentence_pieces(text: str) -> list[str]:
    """``text`` cut at sentence ends, each piece stripped, empty pieces dropped."""
    cuts = [0, *(m.end() for m in SENTENCE_END.finditer(text)), len(text)]
    return [text[a:b].strip() for a, b in pairwise(cuts) if text[a:b].strip()]
