"""Where sentences end: shared by the chunker and the citation check, so both cut text the same way."""

from __future__ import annotations

import re
from itertools import pairwise

# After . ! ? (and closing quotes/brackets) plus white space, or right after a CJK full stop; but not after
# "U.S."-style initials, a single capital initial ("U. S.", "John F. Kennedy") or common titles, which end in
# a dot without ending the sentence.
SENTENCE_END = re.compile(
    r"(?<![A-Z]\.[A-Z]\.)(?<!\b[A-Z]\.)(?<!\b(?:Mr|Ms|Dr|St|No|vs)\.)(?<=[.!?])[\"')\]”’]*\s+|(?<=[。！？])"
)


def sentence_pieces(text: str) -> list[str]:
    """``text`` cut at sentence ends, each piece stripped, empty pieces dropped."""
    cuts = [0, *(m.end() for m in SENTENCE_END.finditer(text)), len(text)]
    return [text[a:b].strip() for a, b in pairwise(cuts) if text[a:b].strip()]
