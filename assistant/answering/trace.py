"""A trace for every answer: what was searched, what evidence was chosen and why, what the check removed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from assistant.answering.answer_types import AnswerType
from assistant.answering.evidence import EvidenceUnit
from assistant.answering.support import SentenceCheck
from assistant.types import Passage

UNITS_KEPT = 6  # the best windows a trace records


@dataclass
class Trace:
    standalone_question: str = ""
    answer_type: dict[str, Any] = field(default_factory=dict)
    passages: list[dict[str, Any]] = field(default_factory=list)  # in prompt order, [1] first
    evidence: list[dict[str, Any]] = field(default_factory=list)  # the best windows, best first
    quoted: list[int] = field(default_factory=list)  # which of ``evidence`` were quoted
    draft: str = ""
    sentences: list[dict[str, Any]] = field(default_factory=list)  # each draft sentence and its verdict
    claim_match: float | None = None  # how close the evidence came to a draft that failed the check
    outcome: str = ""
    reason: str | None = None

    def record_evidence(
        self, kind: AnswerType, passages: Sequence[Passage], units: Sequence[EvidenceUnit]
    ) -> None:
        self.answer_type = kind.to_dict()
        self.passages = [
            {"number": n, "source": p.source, "chunk_id": p.chunk_id, "score": round(p.score, 4)}
            for n, p in enumerate(passages, start=1)
        ]
        self.evidence = [u.to_dict() | {"number": u.passage + 1} for u in units[:UNITS_KEPT]]

    def record_check(self, draft: str, checks: Sequence[SentenceCheck]) -> None:
        self.draft = draft
        self.sentences = [c.to_dict() | {"shown": c.supported} for c in checks]

    def to_dict(self) -> dict[str, Any]:
        return {
            "standalone_question": self.standalone_question,
            "answer_type": self.answer_type,
            "passages": self.passages,
            "evidence": self.evidence,
            "quoted": self.quoted,
            "draft": self.draft,
            "sentences": self.sentences,
            "claim_match": self.claim_match,
            "outcome": self.outcome,
            "reason": self.reason,
        }
