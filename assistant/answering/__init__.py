"""The answer step: evidence chosen in code and shown verbatim; the model's words kept where it carries them.

- ``answer_types``: what a question asks for (person, country, date, amount... or untyped).
- ``evidence``: the passages cut into sentence windows and ranked for the question.
- ``support``: every content word of a model sentence must be in the passages it cites.
- ``compose``: the checked sentences and the quoted evidence, or an honest partial refusal.
- ``trace``: how an answer was made, for the chat's "How this answer was made" and the eval report.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from assistant.answering.answer_types import AnswerType, answer_type
from assistant.answering.compose import Composed, citation_for, compose, quote_block, quoted_units
from assistant.answering.evidence import EvidenceRanker, EvidenceUnit, passage_order
from assistant.answering.language import TextAnalyser
from assistant.answering.support import SupportChecker
from assistant.answering.terms import TermMatcher
from assistant.answering.trace import UNITS_KEPT, Trace
from assistant.bilingual import japanese_forms
from assistant.citations import is_refusal
from assistant.glossary import Glossary
from assistant.japanese import has_japanese
from assistant.sentence_encoder import SentenceEncoder
from assistant.types import Citation, Passage

# Passages whose best window scores more than this below the best window are left out of the prompt: they
# distract the model and each costs about 1.2 s before its first token. On the question set (133 cases, real
# model, alone on the machine): 0.3 -> 0.15 -> 0.1: refusal accuracy 0.947 -> 0.962 -> 0.955, citation
# precision 0.901 -> 0.916 -> 0.961, key facts 0.925 -> 0.917 -> 0.948, first token p50 (4.76 s at 0.3, last
# clean run) 4.50 -> 4.07 s. The model's answer from a passage far behind (compose.ASTRAY_MARGIN) can then
# only happen in a summary, which keeps every passage.
PROMPT_MARGIN = 0.1

# Entity labels of names: a question naming one that no passage mentions is not answered by them.
_NAMES = frozenset("PERSON NORP FAC ORG GPE LOC PRODUCT EVENT WORK_OF_ART LAW".split())

__all__ = ["AnswerStep", "Composed", "EvidencePlan", "TextAnalyser", "Trace"]


@dataclass
class EvidencePlan:
    """What the model is shown and what the user sees first: typed question, ordered passages, evidence."""

    kind: AnswerType
    passages: list[Passage]  # in prompt order: the passage with the best evidence is [1]
    units: list[EvidenceUnit]  # every window, best first, ``passage`` indexing ``passages``
    quotes: list[EvidenceUnit]
    unmentioned: list[str]  # names the question gives that no passage mentions ("What about China?")

    def quote_text(self) -> str:
        return quote_block(self.quotes)

    def quote_citations(self) -> list[Citation]:
        return [citation_for(u.passage, self.passages[u.passage], u) for u in self.quotes]


def across_scored(passage: Passage, question: str, units: Sequence[EvidenceUnit], index: int) -> Passage:
    """``passage``, scored by its closest window about the question (sharing more of its words than any window
    in the question's language) when it is in another language than ``question``, else 0: the English model
    cannot read it, and the multilingual one, on a whole passage (the retriever's score), puts unrelated short
    notes as close as relevant ones (a Japanese note about a dinner 0.41 from "Summarise the article")."""
    if has_japanese(passage.text) == has_japanese(question):
        return passage
    return replace(
        passage, score=max((u.similarity for u in units if u.passage == index and u.about), default=0.0)
    )


def _readable(
    order: list[int], passages: Sequence[Passage], units: Sequence[EvidenceUnit], question: str
) -> list[int]:
    """``order`` without the passages in the other language than ``question`` of which no window is about it:
    such a passage was retrieved for its closeness alone, and it distracts the model (with the readout in
    the corpus, "Who signalled the U.S. would press Japan for pledges?" got NOT IN DOCUMENTS). All of them
    when that would leave none."""
    japanese = has_japanese(question)
    kept = [
        i
        for i in order
        if has_japanese(passages[i].text) == japanese or any(u.about for u in units if u.passage == i)
    ]
    return kept or order


class AnswerStep:
    def __init__(self, analyser: TextAnalyser, encoder: SentenceEncoder, glossary: Glossary) -> None:
        self.matcher = matcher = TermMatcher(glossary)
        self.glossary = glossary
        self.analyser = analyser
        self.ranker = EvidenceRanker(analyser, encoder, matcher)
        self.checker = SupportChecker(analyser, matcher)

    def warm_up(self) -> None:
        self.analyser.parse("Which country did the leaders name?")
        self.ranker.encoder.queries(["Which country did the leaders name?"])

    def select(self, question: str, candidates: Sequence[Passage], k: int, query: str) -> list[Passage]:
        """The ``k`` candidates holding the best evidence for ``question`` (ties keep the retriever's
        order): a paragraph's embedding averages the sentence that answers with the others around it."""
        kind = answer_type(self.analyser.parse(question))
        units = self.ranker.rank(question, kind, candidates, query)
        return [
            across_scored(candidates[i], question, units, i)
            for i in passage_order(units, len(candidates))[:k]
        ]

    def names_topic(self, question: str, passages: Sequence[Passage]) -> bool:
        """Is ``question`` one of "Is X mentioned?" and does a passage name X? Then the passages are about
        the question however far their vectors are ("any mention of chips?": semiconductors)."""
        kind = answer_type(self.analyser.parse(question))
        if not kind.topics:
            return False
        return any(u.fillers for u in self.ranker.rank(question, kind, passages))

    def plan(self, question: str, passages: Sequence[Passage], keep_order: bool = False) -> EvidencePlan:
        """Type the question, rank the evidence, order the passages best evidence first (or, with
        ``keep_order``, as given: a summary reads a document from its opening)."""
        parsed = self.analyser.parse(question)
        kind = answer_type(parsed)
        units = self.ranker.rank(question, kind, passages, self.glossary.expand(question))
        order = list(range(len(passages))) if keep_order else passage_order(units, len(passages))
        if units and not keep_order:  # a passage far behind the best evidence only distracts the model
            best_of: dict[int, float] = {}
            for unit in units:
                best_of.setdefault(unit.passage, unit.score)
            order = [i for i in order if best_of.get(i, -1.0) >= units[0].score - PROMPT_MARGIN]
            order = _readable(order, passages, units, question)
            units = [u for u in units if u.passage in order]
        position = {old: new for new, old in enumerate(order)}
        for unit in units:
            unit.passage = position[unit.passage]
        ordered = [passages[i] for i in order]
        # a Japanese passage names Osaka as 大阪: its words' English glosses are said too
        said = "\n".join(
            f"{p.text}\n{' '.join(sorted(japanese_forms(p.text)))}" if has_japanese(p.text) else p.text
            for p in passages
        )
        unmentioned = [
            e.text
            for e in parsed.ents
            if e.label_ in _NAMES
            and any(t.pos_ == "PROPN" and t.is_alpha for t in e)  # a name, not "Which\x00"
            and not self.matcher.named_in(e.text, said)
        ]
        return EvidencePlan(kind, ordered, units, quoted_units(units), list(dict.fromkeys(unmentioned)))

    def finish(self, plan: EvidencePlan, draft: str, question: str, trace: Trace) -> Composed:
        checks = self.checker.check(draft, plan.passages, question)
        trace.record_check(draft, checks)
        claim_match = None
        if checks and not any(c.supported for c in checks) and not is_refusal(draft):
            shown = plan.units[:UNITS_KEPT]  # about what the model said, or about what was asked
            claim_match = max(
                self.ranker.closeness([c.text for c in checks], shown), *(u.similarity for u in shown)
            )
            trace.claim_match = round(claim_match, 4)
        composed = compose(plan.kind, draft, checks, plan.units, plan.passages, plan.unmentioned, claim_match)
        trace.outcome, trace.reason = composed.outcome, composed.reason
        trace.quoted = [plan.units.index(u) for u in composed.quotes if u in plan.units[:UNITS_KEPT]]
        return composed
