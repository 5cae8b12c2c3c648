"""Evidence chosen in code: the passages cut into sentence windows, ranked for the question.

A window is a sentence, kept together with the next one when it ends in a colon or a comma ("...stating,")
or leaves a quotation open, and with the previous one when it opens on a pronoun ("This includes...", "He's
a highly respected man"), whose subject sits there. Each window is scored by

    similarity to the question (evidence model) + 0.2 x share of the question's content words it holds
    + 0.2 x the share of what the question says of its answer ("which *former prime minister*") that a
      filler's own noun phrase says ("*former Prime Minister* Shinzo Abe")
    - 0.2 when the question is strictly typed ("Which country...", "When...") and the window holds no
      filler the question doesn't name ("Who...?" is often answered by a common noun: no penalty).

A filler counts only in a window that shares a content word with the question: "on Friday" in an unrelated
dinner note does not answer "When did the leaders meet?". A window in the other language (a Japanese
sentence for an English question) shares words with it through the English glosses of its words, and must
share more of them than any window in the question's language. The names of a Japanese window come from the
Japanese analyser (``japanese_entities``), with the English pipeline's labels.

The 1.5B model picks generic sentences when asked to choose (0.53 held the key facts); this ranking's top
two windows held them 0.79 of the time on unseen questions, and missed different questions than the model.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from assistant.answering.answer_types import SPEECH, AnswerType, subject_of
from assistant.answering.japanese_entities import entities as japanese_entities
from assistant.answering.language import TextAnalyser
from assistant.answering.terms import TermMatcher, content_words, word_forms
from assistant.bilingual import japanese_forms, japanese_terms
from assistant.japanese import ANALYSER, JapaneseAnalyser, has_japanese
from assistant.sentence_encoder import SentenceEncoder
from assistant.types import Passage

if TYPE_CHECKING:
    from spacy.tokens import Span

# The words and types weigh 0.2 against an e5 similarity on MiniLM's scale (0.5 against MiniLM's own): on
# the question set, replaying its drafts, key facts 0.831 -> 0.863 and citation precision 0.816 -> 0.833; on
# 10 paraphrases written before the change, the gold window first 0.8 -> 1.0 (benchmarks/evidence_models.py).
OVERLAP_WEIGHT = 0.2
DESCRIPTION_WEIGHT = 0.2
NO_FILLER_PENALTY = 0.2
# A window in the other language (a Japanese sentence for an English question) shares words with
# the question only through its glosses (``bilingual``), which match loosely: 日米 gives every question
# naming Japan a word, 一致 ("agreed") gives "agreement". So its fillers count only when it shares more of
# the question's words than every window in the question's language: with the readout in the corpus,
# the lunar research's 3億ドル answers "How much for joint lunar research?" (0.38 of its words against
# 0.12 in the article), and the working group's 4月10日 does not answer "On what date did the meeting
# take place?" (0.33 against the article's 0.33).
_VECTOR_CACHE = 4096
_OPEN_QUOTES = ('"', "“", "”")


@dataclass
class EvidenceUnit:
    """A window of one passage: its verbatim text, its span in the passage, and how it scored."""

    passage: int  # index into the passages it was cut from
    text: str
    start: int  # character span [start, end) in the passage text
    end: int
    forms: set[str] = field(default_factory=set, repr=False)
    names: list[tuple[str, str, bool]] = field(default_factory=list)  # (entity, label, after "in"/"at"...)
    phrases: dict[str, set[str]] = field(default_factory=dict)  # entity -> lemmas of its noun phrase
    clauses: dict[str, str] = field(default_factory=dict)  # entity -> what the window says of it (relcl)
    speakers: list[str] = field(default_factory=list)  # who says something in the window
    fillers: list[str] = field(default_factory=list)  # names of the asked type the question doesn't name
    similarity: float = 0.0
    overlap: float = 0.0
    about: bool = False  # shares words with the question (across languages: more than any window in its own)
    score: float = 0.0

    def to_dict(self) -> dict[str, object]:
        return {
            "passage": self.passage,
            "text": self.text,
            "start": self.start,
            "end": self.end,
            "fillers": self.fillers,
            "similarity": round(self.similarity, 4),
            "overlap": round(self.overlap, 4),
            "score": round(self.score, 4),
        }


_LOCATIVE = frozenset("in at near inside outside around across within".split())


def _locative(entity: Span) -> bool:
    """Is the entity where something is ("held *in Tokyo*")? "involving Japan" names a party, not a place."""
    head = entity.root.head
    return entity.root.dep_ == "pobj" and head.lemma_.lower() in _LOCATIVE


def _phrase(entity: Span) -> set[str]:
    """The lemmas of an entity's noun phrase, from its leftmost modifier to its end."""
    doc = entity.doc
    return {t.lemma_.lower() for t in doc[entity.root.left_edge.i : entity.end]} | {
        t.lower_ for t in doc[entity.root.left_edge.i : entity.end]
    }


def _clause(entity: Span) -> str:
    """The clause a name carries with it ("Shinzo Abe, *who utilized his relationship with Trump to
    safeguard Japanese interests*"), or "" when it has none."""
    doc = entity.doc
    own = [c for c in entity.root.children if c.dep_ in ("relcl", "acl", "appos")]
    if not own:
        return ""
    return doc[entity.root.left_edge.i : max(c.right_edge.i for c in own) + 1].text


def _speakers(span: Span) -> list[str]:
    """The subjects of the window's verbs of saying ("President Trump ... stating")."""
    found = []
    for token in span:
        if token.lemma_.lower() in SPEECH and token.pos_ == "VERB":
            subject = subject_of(token)
            if subject is not None:
                found.append(span.doc[subject.left_edge.i : subject.i + 1].text)
    return found


def _open_quote(text: str) -> bool:
    """Is a quotation left open? A Japanese sentence may end inside 「」: 「…重要だ。」と述べた。"""
    return (
        text.count('"') % 2 == 1 or text.count("“") > text.count("”") or text.count("「") > text.count("」")
    )


class EvidenceRanker:
    def __init__(
        self,
        analyser: TextAnalyser,
        encoder: SentenceEncoder,
        matcher: TermMatcher,
        japanese: JapaneseAnalyser = ANALYSER,
    ) -> None:
        self.analyser = analyser
        self.encoder = encoder
        self.matcher = matcher
        self.japanese = japanese  # the names of Japanese windows (loaded on the first one)
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()  # recent windows' vectors
        self._vectors_lock = threading.Lock()  # questions rank evidence from several threads

    def windows(self, passage_index: int, passage: Passage) -> list[EvidenceUnit]:
        """The sentence windows of one passage, with their spans, words and names."""
        doc = self.analyser.parse(passage.text)
        sentences = [s for s in doc.sents if s.text.strip()]
        groups: list[list[int]] = []
        for i in range(len(sentences)):
            if groups and self._continues(" ".join(sentences[j].text for j in groups[-1])):
                groups[-1].append(i)
            else:
                groups.append([i])
        units = []
        for g, members in enumerate(groups):
            first = sentences[members[0]]
            # "This includes...": the subject is in the sentence before
            if g > 0 and first[0].pos_ in ("PRON", "DET") and first[0].dep_ in ("nsubj", "nsubjpass"):
                members = [*groups[g - 1], *members]
            span = doc[sentences[members[0]].start : sentences[members[-1]].end]
            text = span.text.strip()
            start = span.start_char + (len(span.text) - len(span.text.lstrip()))
            units.append(
                EvidenceUnit(
                    passage=passage_index,
                    text=text,
                    start=start,
                    end=start + len(text),
                    forms=self._forms(span, text),
                    names=self._names_of(span, text, start),
                    phrases={e.text: _phrase(e) for e in span.ents},
                    clauses={e.text: c for e in span.ents if (c := _clause(e))},
                    speakers=_speakers(span),
                )
            )
        return units

    def _forms(self, span: Span, text: str) -> set[str]:
        """The words to match the question's against: the window's own, and in a window holding Japanese its
        Japanese words and their English glosses (an English question shares none of its words)."""
        forms = word_forms(span)
        if has_japanese(text):
            forms |= japanese_forms(text, self.japanese)
        return forms

    def _names_of(self, span: Span, text: str, start: int) -> list[tuple[str, str, bool]]:
        """The window's names: spaCy's, and in a window holding Japanese, the Japanese analyser's in place of
        those spaCy found in the Japanese (the English model reads a Japanese sentence as one word)."""
        names = [(e.start_char, (e.text, e.label_, _locative(e))) for e in span.ents]
        if has_japanese(text):
            found = japanese_entities(text, self.japanese)
            taken = [(start + e.start, start + e.end) for e in found]
            names = [
                (at, name)
                for at, name in names
                if not has_japanese(name[0]) and not any(a < at + len(name[0]) and at < b for a, b in taken)
            ]
            names += [(start + e.start, (e.text, e.label, e.locative)) for e in found]
        return [name for _, name in sorted(names, key=lambda n: n[0])]

    @staticmethod
    def _continues(text: str) -> bool:
        """Does the sentence so far run on into the next one?"""
        stripped = text.rstrip()
        return stripped.endswith((":", ",")) or _open_quote(stripped)

    def _encode(self, texts: list[str]) -> np.ndarray:
        """The windows' vectors (the evidence model encodes a passage unlike a query), cached."""
        with self._vectors_lock:
            known = {t: self._vectors[t] for t in texts if t in self._vectors}
        todo = [t for t in dict.fromkeys(texts) if t not in known]
        if todo:
            known |= dict(zip(todo, self.encoder.passages(todo), strict=True))
            with self._vectors_lock:
                for text in todo:
                    self._vectors[text] = known[text]
                while len(self._vectors) > _VECTOR_CACHE:
                    self._vectors.popitem(last=False)
        return np.stack([known[t] for t in texts])

    def _names(self, unit: EvidenceUnit, topic: str) -> bool:
        """Does the window name ``topic`` ("chips": semiconductors; "the South Koreans": South Korea)? Its
        head word, a glossary alias of the phrase or of one of its words ("*hacking* defences":
        cybersecurity), or a name in the window that the phrase names. Not any word of it: "a trade
        *deal*" is not named by "trade interests"."""
        text = unit.text.lower()
        phrase = self.analyser.parse(topic)
        head = phrase[-1]
        parts = (topic, *(t.text for t in phrase))
        aliases = [a for part in parts for a in self.matcher.glossary.aliases(part)]
        return (
            any(self.matcher.found(w, unit.forms, text) for w in (head.lemma_.lower(), head.lower_))
            or any(a.lower() in text for a in aliases)
            or any(self.matcher.named_in(name, topic) for name, _, _ in unit.names)
        )

    def _fit(self, kind: AnswerType, phrase: set[str]) -> float:
        """How much of what the question says of its answer ("former prime minister") the filler's own
        noun phrase says ("former Prime Minister Shinzo Abe": all of it; "Prime Minister Ishiba": 2 of 3)."""
        if not kind.described:
            return 0.0
        return sum(self.matcher.found(w, phrase) for w in kind.described) / len(kind.described)

    def closeness(self, claims: Sequence[str], units: Sequence[EvidenceUnit]) -> float:
        """How close the closest of ``units`` comes to any of ``claims`` (the model's sentences), on the
        evidence scale: is the evidence about what the model said at all?"""
        if not claims or not units:
            return 0.0
        texts = [u.text for u in units]
        vectors = self._encode(texts)
        return max(
            float(self.encoder.similarity(v, vectors, _across(texts, has_japanese(claim))).max())
            for claim, v in zip(claims, self.encoder.queries(claims), strict=True)
        )

    def asked_terms(self, question: str) -> list[tuple[str, ...]]:
        """The question's content words, each with the words that count for it: an English word alone, a
        Japanese one with its English glosses (an English window shares none of the Japanese words)."""
        if has_japanese(question):
            return japanese_terms(question, self.japanese)
        return [(w,) for w in dict.fromkeys(content_words(self.analyser.parse(question)))]

    def rank(
        self, question: str, kind: AnswerType, passages: Sequence[Passage], query: str | None = None
    ) -> list[EvidenceUnit]:
        """Every window of ``passages``, best first (ties keep passage order). ``query`` is what is embedded
        (the question with its glossary words, as retrieval searched it); the words counted are the
        question's own."""
        units = [u for i, p in enumerate(passages) for u in self.windows(i, p)]
        if not units:
            return []
        asked = self.asked_terms(question)
        asked_vector = self.encoder.queries([query or question])[0]
        japanese = has_japanese(question)
        texts = [u.text for u in units]
        similarity = self.encoder.similarity(asked_vector, self._encode(texts), _across(texts, japanese))
        clauses = list(dict.fromkeys(c for u in units for c in u.clauses.values())) if kind.typed else []
        clause_similarity = (
            dict(
                zip(
                    clauses,
                    self.encoder.similarity(asked_vector, self._encode(clauses), _across(clauses, japanese)),
                    strict=True,
                )
            )
            if clauses
            else {}
        )
        for unit, sim in zip(units, similarity, strict=True):
            unit.similarity = float(sim)
            unit.overlap = (
                sum(any(self.matcher.found(w, unit.forms, unit.text.lower()) for w in t) for t in asked)
                / len(asked)
                if asked
                else 0.0
            )
        # a window in the other language shares words only through its glosses: it is about the question when
        # it shares more of them than any window in the question's own language
        own = max((u.overlap for u in units if has_japanese(u.text) == japanese), default=0.0)
        for unit in units:
            about = unit.about = unit.overlap > (own if has_japanese(unit.text) != japanese else 0.0)
            unit.fillers = (
                []
                if not about
                else list(  # a filler in a window about the question
                    dict.fromkeys(
                        name
                        for name, label, locative in unit.names
                        if label in kind.labels
                        and (locative or label in ("LOC", "FAC") or not kind.locative)
                        and not self.matcher.named_in(name, question)
                    )
                )
            )
            if kind.speaker:  # "What did Ishiba say?": words said by Ishiba, not by someone else
                unit.fillers = [s for s in unit.speakers if self.matcher.named_in(s, kind.speaker)]
            if kind.topics:  # "Is Okinawa mentioned?": the window names it, or an alias of it
                unit.fillers = [t for t in kind.topics if self._names(unit, t)]
            penalty = NO_FILLER_PENALTY if kind.strict and not unit.fillers else 0.0
            fit = {f: self._fit(kind, unit.phrases.get(f, set())) for f in unit.fillers}
            fits = max(fit.values(), default=0.0)
            if fits > 0:  # "former prime minister": Shinzo Abe, not the Ishiba of the same sentence
                unit.fillers = [f for f in unit.fillers if fit[f] == fits]
            if unit.fillers:  # a name's own clause may say what the question asks of it, the window not
                said = [clause_similarity[unit.clauses[f]] for f in unit.fillers if f in unit.clauses]
                unit.similarity = max([unit.similarity, *map(float, said)])
            unit.score = unit.similarity + OVERLAP_WEIGHT * unit.overlap + DESCRIPTION_WEIGHT * fits - penalty
        return sorted(units, key=lambda u: -u.score)


def _across(texts: Sequence[str], japanese: bool) -> np.ndarray:
    """Which of ``texts`` are in the other language than a question that is (or is not) ``japanese``."""
    return np.array([has_japanese(t) != japanese for t in texts], dtype=bool)


def passage_order(units: Sequence[EvidenceUnit], count: int) -> list[int]:
    """Passage indexes by their best window, best first (the model leans on passage [1])."""
    order: list[int] = []
    for unit in units:
        if unit.passage not in order:
            order.append(unit.passage)
    order += [i for i in range(count) if i not in order]
    return order
