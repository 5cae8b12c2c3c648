"""Content words and names of a text, compared loosely: lemma, shared stem, or a glossary alias.

One notion of "the same word" serves both the evidence ranking (how much of the question a sentence
covers) and the support check (is every word of the answer in its evidence).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING

from assistant.glossary import Glossary

if TYPE_CHECKING:
    from spacy.tokens import Doc, Span, Token

_CONTENT = frozenset({"NOUN", "PROPN", "VERB", "ADJ", "NUM", "ADV"})
_KEPT_STOP = frozenset(
    {"NOUN", "PROPN", "ADJ", "NUM"}
)  # spaCy lists "former", "amount", "first" as stop words
# Words about the documents themselves: "The article mentions..." claims nothing about the world.
META = frozenset(
    "article document documents passage passages text piece source sources report mention mentioned "
    "state note notes indicate suggest refer describe discuss discussed according".split()
)
_STEM = 5  # "investment" ~ "invest", "cooperation" ~ "cooperate": a shared start of five letters


def normal(text: str) -> str:
    """Lower case, no dots, no leading 'the': 'the U.S.' -> 'us'."""
    low = re.sub(r"\.", "", text.lower()).strip()
    return low[4:] if low.startswith("the ") else low


def is_content(token: Token) -> bool:
    if token.pos_ not in _CONTENT or not (token.is_alpha or token.like_num):
        return False
    if token.pos_ == "ADV" and token.is_stop:
        return False
    return not token.is_stop or token.pos_ in _KEPT_STOP


def content_words(span: Doc | Span) -> list[str]:
    """Lemmas (lower case) of the content words, in order, the words about the documents left out."""
    words = [t.lemma_.lower() for t in span if is_content(t)]
    return [w for w in words if w not in META]


def word_forms(span: Doc | Span) -> set[str]:
    """Every lemma and surface form in ``span`` (lower case), to look words up in."""
    return {t.lemma_.lower() for t in span} | {t.lower_ for t in span} | {normal(t.text) for t in span}


_SUFFIXES = frozenset("s es ed d ing er ers ment ments ion ions ation".split())


def _derived(longer: str, shorter: str) -> bool:
    """'meeting' from 'meet', 'investment' from 'invest': a short stem plus a common suffix."""
    return len(shorter) >= 3 and longer.startswith(shorter) and longer[len(shorter) :] in _SUFFIXES


def same_word(word: str, forms: Iterable[str]) -> bool:
    if word in forms:
        return True
    for form in forms:
        if _derived(form, word) or _derived(word, form):
            return True
        if len(word) > _STEM and len(form) > _STEM and form[:_STEM] == word[:_STEM]:
            return True
    return False


class TermMatcher:
    """``same_word`` widened by the glossary (Tokyo ~ Japan, US ~ United States)."""

    def __init__(self, glossary: Glossary) -> None:
        self.glossary = glossary

    def found(self, word: str, forms: set[str], text: str = "") -> bool:
        """Is ``word`` (a lemma) in ``forms``, or one of its glossary aliases in ``text`` (lower case)?"""
        if same_word(word, forms):
            return True
        return any(normal(a) in forms or (a.lower() in text) for a in self.glossary.aliases(word))

    def named_in(self, name: str, question: str) -> bool:
        """Does the question already name ``name`` (an entity), itself or through an alias?

        'U.S.' is named by 'US', 'Japanese' by 'Japan' (one starts the other), 'Donald Trump' by 'Trump',
        'America' by 'U.S.' through the glossary.
        """
        asked = normal(question)
        words = set(re.findall(r"\w+", asked))
        parts = re.findall(r"\w+", normal(name))
        if any(
            p == w or (len(w) >= 4 and (p.startswith(w) or w.startswith(p))) for p in parts for w in words
        ):
            return True  # one part names it: "Trump" names "Donald Trump", "Japan" names "Japanese"
        bare = re.sub(r"^the\s+", "", name, flags=re.IGNORECASE)  # "The United States": United States
        return any(_has_phrase(asked, normal(a)) for a in self.glossary.aliases(bare))


def _has_phrase(text: str, phrase: str) -> bool:
    return bool(phrase) and re.search(rf"(?<!\w){re.escape(phrase)}(?!\w)", text) is not None
