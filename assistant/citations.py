"""Citations decided in code: map ``[n]`` markers to passages and check every sentence against them.

A small model cites the wrong passage now and then, and invents specifics when the passages are silent.
So each sentence must be supported by what it cites (embedding similarity or word overlap), and every
number and proper name in it must appear in those passages. A sentence that cites wrongly is re-attributed;
a sentence nothing supports is removed and reported.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from assistant.embeddings import LocalEmbeddings
from assistant.glossary import Glossary
from assistant.prompts import PromptFile
from assistant.retrieval import terms
from assistant.sentences import sentence_pieces
from assistant.types import Citation, Passage

MARKER = re.compile(r"\s*\[(?:passages?\s*)?(\d{1,3}(?:\s*(?:,|;|and|-)\s*\d{1,3})*)\]", re.IGNORECASE)
_LEADING_MARKERS = re.compile(r"^(\s*\[[^\]]{1,20}\])+")
_NUMBER = re.compile(r"\d[\d,.]*")
_NAME = re.compile(r"\b[A-Z][\w'’-]+")
_NOT_NAMES = frozenset(
    "I The This That These Those They Their It Its In On At As By For From To With Of He She His Her We "
    "Our Yes No Not Also Both And But Or So However According While During After Before Since There Here "
    "What When Where Which Who Why How A An If Then Thus Therefore Overall Each Every Some Many Most "
    # titles: an invented title is harmless, an invented name after it is still checked
    "President Prime Minister Premier Chancellor Secretary Senator Governor Mayor Mr Mrs Ms Dr PM ".split()
)
# Past-tense claims that something was settled: a small model turns "will discuss" into "agreed". Like names
# and numbers, such a verb must appear in a cited passage, even when the question uses it ("What did they
# sign?" presupposes a signing; the answer may not confirm it unless a passage does).
_OUTCOME = re.compile(
    r"\b(signed|agreed|announced|pledged|promised|vowed|concluded|decided|approved|finali[sz]ed|ratified|"
    r"confirmed|accepted|rejected|reached)\b",
    re.IGNORECASE,
)
# Words of the prompt's worked examples that a sentence must carry (and the passages and question lack) to
# count as copied from an example: one is not enough, the examples use everyday words too ("said").
_LEAKED_WORDS = 2
_CITED_BAR = 0.75
_MARGIN = 0.1
_PRUNE = 0.08  # of several cited passages, keep those within this much of the best-supporting one
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


@dataclass
class CheckResult:
    text: str  # the checked answer, markers renumbered 1..n in order of first use
    citations: list[Citation]
    unsupported: list[str]
    model_refused: bool
    sentences: list[tuple[str, list[int]]] = field(default_factory=list)  # (sentence, passage indexes)


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


def key_terms(sentence: str) -> list[str]:
    """Numbers and proper names: the specifics a small model tends to invent.

    Possessives are dropped and hyphenated names split ("Washington-Tokyo's" -> Washington, Tokyo).
    """
    found = [n.rstrip(".,") for n in _NUMBER.findall(sentence)]
    for word in _NAME.findall(sentence):
        for part in re.sub(r"['’]s$", "", word).split("-"):
            if part and part[0].isupper() and part not in _NOT_NAMES:
                found.append(part)
    return found


def outcome_terms(sentence: str) -> list[str]:
    """Verbs that claim an outcome (signed, agreed, announced...): they need a passage that says so."""
    return [m.group(1) for m in _OUTCOME.finditer(sentence)]


def _term_in(term: str, text_lower: str, words: set[str]) -> bool:
    low = term.lower()
    if low in text_lower:
        return True
    return len(low) >= 6 and any(w.startswith(low[:5]) for w in words)


class CitationChecker:
    def __init__(
        self,
        embeddings: LocalEmbeddings,
        threshold: float,
        overlap: float = 0.5,
        glossary: Glossary | None = None,
        example_terms: frozenset[str] = frozenset(),
    ) -> None:
        self.embeddings = embeddings
        self.threshold = threshold
        self.overlap = overlap
        self.glossary = glossary or Glossary({})
        self.example_terms = example_terms  # words of the prompt's worked examples (see example_terms())

    def check(self, draft: str, passages: list[Passage], question: str = "") -> CheckResult:
        """Check ``draft`` against ``passages``. A name the question itself uses counts as given when a
        retrieved passage has it or, through the glossary, what it stands for ("Tokyo" -> Japan): the
        answer may echo the question. A name no passage knows ("What does it say about China?") must be
        in the cited passage like any other; numbers always must."""
        sentences = [s for s in split_sentences(draft) if strip_markers(s)]
        if not sentences or not passages:
            return CheckResult("", [], [strip_markers(s) for s in sentences], is_refusal(draft))
        bodies = [strip_markers(s) for s in sentences]
        units = [(i, u) for i, p in enumerate(passages) for u in split_sentences(p.text)]
        vectors = self.embeddings.encode(bodies + [p.text for p in passages] + [u for _, u in units])
        sent_v = vectors[: len(bodies)]
        pass_v = vectors[len(bodies) : len(bodies) + len(passages)]
        unit_v = vectors[len(bodies) + len(passages) :]
        owners = np.array([i for i, _ in units])
        unit_sim = sent_v @ unit_v.T  # sentence x passage-sentence
        similarity = sent_v @ pass_v.T  # sentence x passage
        for p in range(len(passages)):
            similarity[:, p] = np.maximum(similarity[:, p], unit_sim[:, owners == p].max(axis=1))
        lowered = [p.text.lower() for p in passages]
        word_sets = [set(re.findall(r"\w+", t)) for t in lowered]
        asked = self._given_names(question, lowered, set().union(*word_sets))
        stem_sets = [set(terms(p.text)) for p in passages]
        passage_stems, question_stems = set().union(*stem_sets), set(terms(question))

        kept: list[tuple[int, str, list[int]]] = []
        unsupported: list[str] = []
        for s_idx, sentence in enumerate(sentences):
            body = bodies[s_idx]
            stems = set(terms(body))

            def support(p: int, s_idx: int = s_idx, stems: set[str] = stems) -> float:
                overlap = len(stems & stem_sets[p]) / len(stems) if stems else 0.0
                return max(float(similarity[s_idx, p]), overlap * self.threshold / self.overlap)

            cited = [n - 1 for n in cited_numbers(sentence) if 1 <= n <= len(passages)]
            # the model's own choice needs less evidence than a passage the check picks for it
            chosen = [p for p in cited if support(p) >= self.threshold * _CITED_BAR]
            best = max(range(len(passages)), key=support)
            clearly_better = support(best) >= max([self.threshold, *map(support, chosen)]) + _MARGIN
            if not chosen or (best not in chosen and clearly_better):
                chosen = [best] if support(best) >= self.threshold else []
            if len(chosen) > 1:  # a citation claims support: drop the weaker ones (names re-add below)
                top = max(map(support, chosen))
                chosen = [p for p in chosen if support(p) >= top - _PRUNE]
            missing = [
                t
                for t in key_terms(body)
                if not any(_term_in(t, lowered[p], word_sets[p]) for p in chosen)
                and not (t.lower() in asked and not t[0].isdigit())
            ]
            if missing and chosen:  # one passage that says it all beats the cited one plus helpers
                needed = [t for t in key_terms(body) if not (t.lower() in asked and not t[0].isdigit())]
                helpers = {
                    h for t in missing for h in range(len(passages)) if _term_in(t, lowered[h], word_sets[h])
                }
                together = len(stems & set().union(*(stem_sets[p] for p in {*chosen, *helpers})))
                whole = [
                    p
                    for p in range(len(passages))
                    if all(_term_in(t, lowered[p], word_sets[p]) for t in needed)
                    and support(p) >= max(map(support, chosen)) - _PRUNE
                    and len(stems & stem_sets[p]) >= together
                ]
                if whole:
                    chosen, missing = [max(whole, key=support)], []
            for term in list(missing):
                holder = next(
                    (p for p in range(len(passages)) if _term_in(term, lowered[p], word_sets[p])), None
                )
                if holder is not None and support(holder) >= self.threshold * 0.6:
                    chosen.append(holder)
                    missing.remove(term)
            missing += [
                t
                for t in outcome_terms(body)
                if not any(_term_in(t, lowered[p], word_sets[p]) for p in chosen)
            ]
            if len(stems & self.example_terms - question_stems - passage_stems) >= _LEAKED_WORDS:
                chosen = []  # it repeats the prompt's worked example, not the passages
            if chosen and not missing:
                kept.append((s_idx, body, list(dict.fromkeys(chosen))))
            else:
                unsupported.append(body)
        text, citations = self._render(kept, passages, unit_sim, units)
        return CheckResult(text, citations, unsupported, is_refusal(draft), [(b, c) for _, b, c in kept])

    def _given_names(self, question: str, lowered: list[str], words: set[str]) -> set[str]:
        """The question's words that some passage has, itself or through a glossary alias."""
        everything = "\n".join(lowered)  # one scan instead of one per passage (words hold no line breaks)
        return {
            word
            for word in set(re.findall(r"\w+", question.lower()))
            if _term_in(word, everything, words)
            or any(alias.lower() in text for alias in self.glossary.aliases(word) for text in lowered)
        }

    @staticmethod
    def _render(
        kept: list[tuple[int, str, list[int]]],
        passages: list[Passage],
        unit_sim: np.ndarray,
        units: list[tuple[int, str]],
    ) -> tuple[str, list[Citation]]:
        """Renumber citations in order of first use; quote the passage sentence closest to the answer."""
        numbering: dict[int, int] = {}
        best_quote: dict[int, tuple[float, str]] = {}
        parts = []
        for s_idx, body, chosen in kept:
            for p in chosen:
                numbering.setdefault(p, len(numbering) + 1)
                for u_idx, (owner, unit) in enumerate(units):
                    score = float(unit_sim[s_idx, u_idx])
                    if owner == p and score > best_quote.get(p, (-2.0, ""))[0]:
                        best_quote[p] = (score, unit)
            parts.append(_with_marker(body, "".join(f"[{numbering[p]}]" for p in chosen)))
        citations = [
            Citation(
                number=n,
                chunk_id=passages[p].chunk_id,
                source=passages[p].source,
                title=passages[p].title,
                start=passages[p].start,
                end=passages[p].end,
                passage=passages[p].text,
                quote=best_quote.get(p, (0.0, passages[p].text))[1],
            )
            for p, n in sorted(numbering.items(), key=lambda item: item[1])
        ]
        return " ".join(parts), citations


def example_terms(prompt: PromptFile) -> frozenset[str]:
    """The word stems of a prompt's worked examples that its rules and template don't use.

    A small model sometimes answers from an example instead of the passages ("The company opened a factory
    in Ohio that builds batteries"). A sentence with two such words that neither the passages nor the
    question has is unsupported, whatever its similarity. One word is not evidence: "The note said…"
    shares "said" with an example, and "…buy more U.S. manufactured batteries" (after an example about a
    battery factory) cannot be told from an answer that merely uses an everyday word the passages lack.
    """
    shown = {stem for user, reply in prompt.examples for stem in terms(f"{user} {reply}")}
    return frozenset(shown - set(terms(f"{prompt.system} {prompt.user}")))


def _with_marker(body: str, markers: str) -> str:
    """Put the markers before the sentence's closing punctuation: 'It rose [1].'"""
    match = re.search(r"([.!?。！？][\"”’)]*)$", body)
    if match:
        return f"{body[: match.start()].rstrip()} {markers}{match.group(1)}"
    return f"{body} {markers}"
