"""The support principle: every content word and name of a shown sentence occurs in the passages it cites,
or is given by the question.

One rule in place of a rule per failure: a word the passages lack was invented, whatever kind of word it is
(a number, a name, "signed", "batteries"). The question gives its common nouns and adjectives (its framing)
and any word some retrieved passage uses too; its verbs, names and numbers that no passage has are not
given, so a false premise ("Why did X cancel...?") cannot be echoed back as a fact. Words about the
documents themselves ("the article mentions") claim nothing and are let through.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from assistant.answering.language import TextAnalyser
from assistant.answering.terms import TermMatcher, content_words, is_content, same_word, word_forms
from assistant.bilingual import japanese_forms, japanese_terms
from assistant.citations import cited_numbers, split_sentences, strip_markers
from assistant.japanese import has_japanese
from assistant.types import Passage

if TYPE_CHECKING:
    from spacy.tokens import Doc, Token


@dataclass
class SentenceCheck:
    """One sentence of the model's draft and the verdict on it."""

    text: str  # without its [n] markers
    cited: list[int]  # passage indexes the model cited
    passages: list[int] = field(default_factory=list)  # the passages that carry it (empty: unsupported)
    missing: list[str] = field(default_factory=list)  # its words that no cited passage has
    premise: list[str] = field(default_factory=list)  # of those, the question's own (its presupposition)
    added: list[str] = field(default_factory=list)  # its words the question didn't give and a passage has
    invented: dict[str, str] = field(default_factory=dict)  # its names with a missing word: name -> label

    @property
    def supported(self) -> bool:
        return bool(self.passages)

    def to_dict(self) -> dict[str, object]:
        return {
            "text": self.text,
            "cited": self.cited,
            "passages": self.passages,
            "missing": self.missing,
            "premise": self.premise,
            "added": self.added,
            "invented": self.invented,
        }


_FRAMING = frozenset({"NOUN", "ADJ", "ADV"})
# Verbs of wanting and trying frame a question without claiming that anything happened ("What does Tokyo
# *want*?"); event verbs ("sign", "promise", "cancel") claim it did.
_ATTITUDE = frozenset(
    "want hope hop wish try seek aim expect plan intend need look consider like".split()
)  # "hop": spaCy's lemma of "hoping"


def framing_words(question: Doc) -> set[str]:
    """What an answer may echo from the question though no passage has it: the question's common nouns,
    adjectives and adverbs, small counting words ("the two sides"), verbs of wanting ("hope", "try") and
    what they want ("trying to *build*": a goal, not an event).
    Its event verbs, names and figures are not framing: "Why did Ishiba *turn down* the demand?"
    presupposes an event, and an answer may only state it if a passage does."""
    return {
        t.lemma_.lower()
        for t in question
        if is_content(t)
        and (
            t.pos_ in _FRAMING or (t.like_num and t.is_alpha) or t.lemma_.lower() in _ATTITUDE or _aimed_at(t)
        )
    }


def _aimed_at(token: Token) -> bool:
    """Is the verb what someone wants or tries to do ("trying to *build*"), a goal and not an event?"""
    return token.dep_ == "xcomp" and token.head.lemma_.lower() in _ATTITUDE


class SupportChecker:
    def __init__(self, analyser: TextAnalyser, matcher: TermMatcher) -> None:
        self.analyser = analyser
        self.matcher = matcher

    def check(self, draft: str, passages: Sequence[Passage], question: str) -> list[SentenceCheck]:
        """Check each sentence of ``draft`` against ``passages`` (in prompt order, best evidence first: the
        order in which a passage is looked for when the cited one does not carry the sentence)."""
        forms = [self._forms(p.text) for p in passages]
        texts = [p.text.lower() for p in passages]
        everywhere = set().union(*forms) if forms else set()
        asked = self.analyser.parse(question)
        all_text = "\n".join(texts)  # joined once, not once per question word
        given = {w for w in content_words(asked) if self.matcher.found(w, everywhere, all_text)}
        given |= framing_words(asked)
        if has_japanese(question):  # the Japanese words some passage has, or their English glosses
            given |= {
                w
                for term in japanese_terms(question)
                if self._found(term, everywhere, all_text)
                for w in term
            }
        asked_words = {t.lemma_.lower() for t in asked} | {t.lower_ for t in asked}
        checks = []
        for sentence in split_sentences(draft):
            body = strip_markers(sentence)
            if not body:
                continue
            cited = [n - 1 for n in cited_numbers(sentence) if 1 <= n <= len(passages)]
            check = SentenceCheck(body, cited)
            parsed = self.analyser.parse(body)
            terms = self._terms(body, parsed, given)
            words = [term[0] for term in terms]

            def lacking(chosen: Sequence[int], terms: list[tuple[str, ...]] = terms) -> list[str]:
                pool = set().union(*(forms[p] for p in chosen))
                text = "\n".join(texts[p] for p in chosen)
                return [term[0] for term in terms if not self._found(term, pool, text)]

            candidates = ([cited] if cited else []) + [[p] for p in range(len(passages)) if [p] != cited]
            verdicts = [(c, lacking(c)) for c in candidates]
            chosen, missing = min(verdicts, key=lambda v: len(v[1]), default=([], words))
            check.missing = missing
            check.premise = [w for w in missing if same_word(w, asked_words)]
            check.added = [w for w in words if w not in missing]
            check.invented = {
                e.text: e.label_ for e in parsed.ents if any(t.lemma_.lower() in missing for t in e)
            }
            if not missing and (words or cited):
                check.passages = list(chosen)
            checks.append(check)
        return checks

    def _forms(self, text: str) -> set[str]:
        """A passage's words; in a passage holding Japanese, its Japanese words, their English glosses and
        its numbers as English writes them (3億ドル: 300 million): an answer in either language is checked."""
        forms = word_forms(self.analyser.parse(text))
        return forms | japanese_forms(text) if has_japanese(text) else forms

    @staticmethod
    def _terms(body: str, parsed: Doc, given: set[str]) -> list[tuple[str, ...]]:
        """The sentence's content words that the question does not give, each with the words that count for
        it: an English word alone, a Japanese one with its glosses (an English passage has only those)."""
        if has_japanese(body):
            return [t for t in japanese_terms(body) if not any(w in given for w in t)]
        return [(w,) for w in dict.fromkeys(content_words(parsed)) if not same_word(w, given)]

    def _found(self, term: tuple[str, ...], forms: set[str], text: str) -> bool:
        return any(self.matcher.found(w, forms, text) for w in term)
