"""The answer is made of its evidence: the model's checked sentences, then the evidence quoted verbatim.

Outcomes, decided in code:
- ``answered``: some sentence of the model passed the support check (and names a filler of the asked type
  where the evidence has one); under it, the best window of each passage it cites. Those, not the best
  windows overall, are quoted: the model's pick of passage was right more often than the ranking's first
  window (question set, citation precision 0.64 -> 0.73), so the quotes show what the answer rests on.
- ``evidence``: nothing the model wrote passed, but the evidence answers the question (it is about what the
  model said or what was asked, and for a typed question it holds a filler of the asked type); or the
  model said NOT IN DOCUMENTS while the evidence holds a filler of a strictly typed question; or its
  sentences rest on a passage whose best window trails the best window overall by more than
  ``ASTRAY_MARGIN`` (it answered from the wrong passage: on the question set, the model was right in every
  case where the gap was under 0.1, wrong in the two where it was 0.17). The best one or two windows are
  the answer ("The documents say: ..."); of two, only the one whose passage the model cited when it cited
  one of them: its words failed, its pick of passage did not (replayed drafts: citation precision 0.867 ->
  0.900, five answers lost a wrong second quote, none a key fact).
- ``partial``: a strictly typed question ("When...?", "How much...?") whose evidence holds no filler, the
  model found nothing, or nothing it wrote passed and the evidence does not answer the question either
  (for a typed question: the window standing in holds no filler, "who else was in the room?"), or a
  why-question presupposes an event that the model restated with a verb no passage has, about a thing no
  passage names ("Why did Ishiba bring a gift?"), or the model made up names of the asked type while naming
  the evidence's as something else (``set_aside``): what is missing, then what the documents do say.
  Flagged as refused, with the reason.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from assistant.answering.answer_types import AnswerType
from assistant.answering.evidence import EvidenceUnit
from assistant.answering.support import SentenceCheck
from assistant.answering.terms import normal
from assistant.bilingual import japanese_forms
from assistant.citations import is_refusal
from assistant.japanese import has_japanese
from assistant.types import Citation, Passage

QUOTE_MARGIN = 0.06  # a second quote is shown when its window scores within this of the first
# The model's sentences rest on the passages they cite; when the best window of those trails the best
# window overall by more than this, the model went astray and the evidence is the answer (question set,
# offline re-check: key facts 0.828 -> 0.853, citation precision 0.792 -> 0.827; 0.1 did the same less well).
ASTRAY_MARGIN = 0.15
# The evidence stands in for a model answer that failed the check and only restates the question when it is
# about what the model said or what was asked: the closest window must come this close to one of its
# sentences or to the question. On the question set (replayed drafts), the 25 answerable questions answered
# this way came 0.62-0.87 close; "The two leaders signed an agreement" (no passage reports one) 0.46,
# "...sat in on the meeting alongside the cabinet secretaries" 0.42. A short sentence scores low against a
# long window ("AI and semiconductors are named for joint ventures": 0.52), hence "only restates".
CLAIM_MATCH = 0.55
EVIDENCE_LEAD = "The documents say:"
# The leads of an answer to a question asked in Japanese, and how they name what the documents lack
EVIDENCE_LEAD_JA = "資料には次のとおり書かれています。"
_MISSING_JA = {
    "date": "いつか",
    "place": "どこか",
    "person": "誰か",
    "name": "名前",
    "country": "どの国か",
    "amount": "金額や数",
    "reason": "理由",
}


@dataclass
class Composed:
    text: str
    citations: list[Citation]
    outcome: str  # answered | evidence | partial
    refused: bool = False
    reason: str | None = None
    removed: list[str] = field(default_factory=list)  # sentences of the draft that were not shown
    quotes: list[EvidenceUnit] = field(default_factory=list)


def quoted_units(units: Sequence[EvidenceUnit]) -> list[EvidenceUnit]:
    """The one or two windows to quote: the best, and the next if close and not overlapping it."""
    if not units:
        return []
    best = units[0]
    for unit in units[1:3]:
        overlaps = unit.passage == best.passage and unit.start < best.end and best.start < unit.end
        if not overlaps and unit.score >= best.score - QUOTE_MARGIN:
            return [best, unit]
    return [best]


def pointed_at(quotes: Sequence[EvidenceUnit], checks: Sequence[SentenceCheck]) -> list[EvidenceUnit]:
    """Of two close windows standing in for a failed answer, the one whose passage the model cited: its
    words failed the check, but its pick of passage was right ("...held up as a model [2]": the Abe
    sentence, not the opening one). Both when it cited neither or both."""
    cited = {p for c in checks for p in c.cited}
    chosen = [u for u in quotes if u.passage in cited]
    return chosen if len(chosen) == 1 else list(quotes)


def unreported(kind: AnswerType, checks: Sequence[SentenceCheck], units: Sequence[EvidenceUnit]) -> list[str]:
    """The events a why-question presupposes that the model restated with a verb no passage has, about a
    thing no passage names ("why did Ishiba *bring* a *gift*"; not "why are they *stepping up* military
    *cooperation*", which the passages word otherwise)."""
    echoed = {w for c in checks if not c.supported for w in c.premise}
    restated = [(verb, thing) for verb, thing in kind.events if verb in echoed]
    if not restated:  # not a why-question, or the model did not restate its event: no window to read
        return []
    named = set().union(*(u.forms for u in units))
    return [verb for verb, thing in restated if not thing or thing not in named]


def set_aside(kind: AnswerType, checks: Sequence[SentenceCheck], quotes: Sequence[EvidenceUnit]) -> list[str]:
    """Names of the asked type that the model made up (no passage has them) while naming the evidence's
    names of that type as something else: those are then not what was asked ("Which ministers sat in
    alongside the two leaders?" -> "Trump and Ishiba met with ... John Kerry": the evidence names only the
    two leaders). Empty when a made-up name stands where the evidence's would ("...is Fumio Kishida")."""
    failed = [c for c in checks if not c.supported]
    invented = {name: label for c in failed for name, label in c.invented.items() if label in kind.labels}
    labels = set(invented.values())
    fillers = [name for u in quotes for name, label, _ in u.names if label in labels and name in u.fillers]
    said = normal(" ".join(c.text for c in failed))
    if fillers and all(any(normal(w) in said for w in f.split()) for f in fillers):
        return list(invented)
    return []


def quote_block(units: Sequence[EvidenceUnit]) -> str:
    """The quotes as Markdown block quotes, each with its passage number."""
    return "\n\n".join(f'> "{" ".join(u.text.split())}" [{u.passage + 1}]' for u in units)


def _names_a_filler(sentences: Sequence[SentenceCheck], fillers: set[str]) -> bool:
    said = normal(" ".join(s.text for s in sentences))
    words = set(re.findall(r"[\w,]+", said))
    return any(normal(f) in said or _translates(f, words) for f in fillers)


def _translates(filler: str, words: set[str]) -> bool:
    """Do English ``words`` name a Japanese ``filler``: two of its English words, or its only one (4月10日:
    april and 10; 3億ドル: 300 and million, not "3 billion dollars"; 大阪・関西万博: osaka and kansai)?"""
    if not has_japanese(filler):
        return False
    english = {w for w in japanese_forms(filler) if not has_japanese(w)}
    return bool(english) and len(english & words) >= min(2, len(english))


def compose(
    kind: AnswerType,
    draft: str,
    checks: Sequence[SentenceCheck],
    units: Sequence[EvidenceUnit],
    passages: Sequence[Passage],
    unmentioned: Sequence[str] = (),
    claim_match: float | None = None,
) -> Composed:
    """The final answer from the checked draft and the ranked evidence (``passages`` in prompt order).
    ``claim_match``: how close the evidence comes to the model's sentences when none of them passed."""
    # a failed sentence that brings words of the passages beyond the question ("*AI and semiconductors* are
    # named...") answered from the evidence; one that only restates the question ("The two leaders signed an
    # agreement") must be close to the evidence for the evidence to answer it
    restates = not any(c.added for c in checks)
    quotes = quoted_units(units)
    fillers = {f for u in quotes for f in u.fillers}  # the best evidence's: "Which former PM?" -> Abe
    kept = [c for c in checks if c.supported]
    removed = [c.text for c in checks if not c.supported]
    if kind.typed and fillers and kept and not _names_a_filler(kept, fillers):
        removed += [c.text for c in kept]  # "Which country besides X?" answered without a new country
        kept = []
    if kept and units:
        best_kept = max((u.score for u in units if any(u.passage in c.passages for c in kept)), default=-1.0)
        if units[0].score - best_kept > ASTRAY_MARGIN:
            removed += [c.text for c in kept]
            kept = []
    if not kept:  # the evidence stands in: of two close windows, the one the model cited
        quotes = pointed_at(quotes, checks)
    quoted_fillers = any(u.fillers for u in quotes)
    presumed = unreported(kind, checks, units)
    made_up = set_aside(kind, checks, quotes) if not kept else []
    reason, missing = None, kind.missing
    if unmentioned:  # "What does the article say about China?": no passage names China
        kept, outcome, missing = [], "partial", f"anything about {' or '.join(unmentioned)}"
        reason = f"The question names {', '.join(unmentioned)}; no passage found for it mentions that."
    elif presumed:  # "Why did Ishiba bring a gift?": the model could only restate an event no passage reports
        kept, outcome = [], "partial"
        reason = f"The question asks why something happened ({', '.join(presumed)}); no passage reports it."
    elif kind.strict and not quoted_fillers:
        kept, outcome = [], "partial"
        reason = f"The question asks {kind.missing}; no passage found for it holds an answer of that kind."
    elif is_refusal(draft) and not (kind.strict and quoted_fillers):
        kept, outcome = [], "partial"
        reason = "The language model found no answer in the passages, and the evidence holds none either."
    elif not kept and kind.typed and not quoted_fillers:
        kept, outcome = [], "partial"  # "Where will the next meeting be held?": no place in the evidence
        reason = f"No passage carries the model's answer, and the evidence holds no answer to {kind.missing}."
    elif made_up:  # the model named the evidence's people as the ones the question sets aside
        kept, outcome = [], "partial"
        reason = (
            f"The model answered with names no passage has ({', '.join(made_up)}); the evidence's names are "
            "the ones it set apart from the answer."
        )
    elif claim_match is not None and restates and claim_match < CLAIM_MATCH:
        kept, outcome = [], "partial"  # "What agreement did they sign?": the evidence is about other things
        reason = (
            f"No passage carries the model's answer, and the evidence is about something else (closest "
            f"{claim_match:.2f}, needed {CLAIM_MATCH:.2f})."
        )
    else:
        outcome = "answered" if kept else "evidence"
    best = {}  # each passage's best-ranked window
    for unit in units:
        best.setdefault(unit.passage, unit)
    if kept:  # quote what the answer rests on: the best window of each passage its sentences cite
        quotes = [best[p] for p in dict.fromkeys(p for c in kept for p in c.passages) if p in best]
    if kind.japanese:
        lacking = f"{'・'.join(unmentioned)}のこと" if unmentioned else _MISSING_JA.get(kind.kind, "その点")
        leads = (EVIDENCE_LEAD_JA, f"資料には{lacking}は書かれていません。書かれているのは次のとおりです。")
    else:
        leads = (EVIDENCE_LEAD, f"The documents don't say {missing}. What they do say:")
    lead = {"answered": " ".join(_cited(c) for c in kept), "evidence": leads[0], "partial": leads[1]}[outcome]
    used = sorted({u.passage for u in quotes} | {p for c in kept for p in c.passages})
    quoted = {u.passage: u for u in quotes}
    return Composed(
        text=f"{lead}\n\n{quote_block(quotes)}" if quotes else lead,
        citations=[citation_for(p, passages[p], quoted.get(p, best.get(p))) for p in used],
        outcome=outcome,
        refused=outcome == "partial",
        reason=reason,
        removed=removed,
        quotes=quotes,
    )


def _cited(check: SentenceCheck) -> str:
    markers = "".join(f"[{p + 1}]" for p in check.passages)
    body = check.text.rstrip()
    if body[-1:] in ".!?":
        return f"{body[:-1].rstrip()} {markers}{body[-1]}"
    return f"{body} {markers}."


def citation_for(index: int, passage: Passage, unit: EvidenceUnit | None) -> Citation:
    return Citation(
        number=index + 1,
        chunk_id=passage.chunk_id,
        source=passage.source,
        title=passage.title,
        start=passage.start,
        end=passage.end,
        passage=passage.text,
        quote=unit.text if unit else passage.text,
    )
