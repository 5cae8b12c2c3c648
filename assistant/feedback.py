"""Feedback on answers: thumbs up/down and an optional comment, appended to ``data_dir/feedback.jsonl``.

Each line is one event: a ``rating`` (with the question, the answer, its citations and the time) or a
``comment`` that refers to a rating by its id. Thumbs-down answers can be exported as draft cases for the
test question set (``eval/questions.yaml``), with the fields a person must fill marked TODO.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from assistant.config import Settings

TODO = "TODO"

_DRAFT_HEADER = """\
# Draft test cases from thumbs-down feedback ({count} {noun}, exported {when}).
# Same format as eval/questions.yaml (read its header). Before moving a case there:
#   - check the question is one the documents answer (else set category: unanswerable,
#     answerable: false, give it an unans- id and drop reference/key_facts/reference_contexts);
#   - write the reference answer, the key_facts and a VERBATIM quote for each reference context;
#   - replace every TODO. The comments above each case show what the assistant said and the user's comment.

"""


def feedback_path(settings: Settings) -> Path:
    return settings.data_dir / "feedback.jsonl"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class FeedbackLog:
    """Append-only JSONL log of ratings and comments; safe to use from several threads."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def _append(self, event: dict[str, Any]) -> None:
        line = json.dumps(event, ensure_ascii=False)
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as handle:
                handle.write(line + "\n")

    def record(
        self,
        question: str,
        answer: str,
        rating: str,
        citations: Sequence[dict[str, Any]] = (),
        refused: bool = False,
        comment: str = "",
        user: str | None = None,
        history: Sequence[str] = (),
    ) -> str:
        """Log a rating (``up`` or ``down``); returns its id, to attach a comment later."""
        if rating not in ("up", "down"):
            raise ValueError(f"rating must be 'up' or 'down', not {rating!r}")
        entry_id = uuid.uuid4().hex[:12]
        self._append(
            {
                "type": "rating",
                "id": entry_id,
                "time": _now(),
                "user": user,
                "rating": rating,
                "question": question,
                "history": list(history),
                "answer": answer,
                "refused": refused,
                "citations": [
                    {k: c.get(k) for k in ("number", "source", "title", "quote", "start", "end")}
                    for c in citations
                ],
                "comment": comment.strip(),
            }
        )
        return entry_id

    def comment(self, entry_id: str, comment: str, user: str | None = None) -> None:
        """Attach (or replace) the comment of an earlier rating."""
        self._append({"type": "comment", "id": entry_id, "time": _now(), "user": user, "comment": comment})

    def entries(self) -> list[dict[str, Any]]:
        """The ratings in order, each with its latest comment; unreadable lines are skipped."""
        if not self.path.exists():
            return []
        ratings: dict[str, dict[str, Any]] = {}
        for line in self.path.read_text(encoding="utf-8").splitlines():
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if not isinstance(event, dict) or "id" not in event:
                continue
            if event.get("type", "rating") == "rating":
                ratings[event["id"]] = event
            elif event.get("type") == "comment" and event["id"] in ratings:
                ratings[event["id"]]["comment"] = str(event.get("comment", "")).strip()
        return list(ratings.values())

    def export_drafts(self, path_out: Path) -> int:
        """Write the thumbs-down entries as draft test cases (YAML); returns how many."""
        down = [e for e in self.entries() if e.get("rating") == "down"]
        when = _now()
        parts = [
            _DRAFT_HEADER.format(count=len(down), noun="entry" if len(down) == 1 else "entries", when=when)
        ]
        for number, entry in enumerate(down, start=1):
            parts.append(_draft_case(entry, number))
        path_out.parent.mkdir(parents=True, exist_ok=True)
        path_out.write_text("\n".join(parts), encoding="utf-8")
        return len(down)


def _comment_block(label: str, text: str) -> list[str]:
    lines = str(text).splitlines() or [""]
    return [f"# {label}: {lines[0]}"] + [f"#   {line}" for line in lines[1:]]


def _draft_case(entry: dict[str, Any], number: int) -> str:
    stamp = str(entry.get("time", ""))[:10].replace("-", "")
    header = [f"# feedback {entry.get('id')} from {entry.get('user') or 'anonymous'} at {entry.get('time')}"]
    for turn in entry.get("history") or []:
        header += _comment_block("earlier question", turn)
    header += _comment_block(
        "assistant said" + (" (refused)" if entry.get("refused") else ""), entry["answer"]
    )
    for citation in entry.get("citations") or []:
        header += _comment_block(
            f"it cited [{citation.get('number')}] {citation.get('source')}", citation.get("quote") or ""
        )
    if entry.get("comment"):
        header += _comment_block("user comment", entry["comment"])
    sources = list(dict.fromkeys(c.get("source") for c in entry.get("citations") or [] if c.get("source")))
    case = {
        "id": f"ans-feedback-{stamp}-{number:02d}",
        "category": "answerable",
        "question": entry.get("question", ""),
        "reference": f"{TODO}: the right answer, written from the documents",
        "key_facts": [[f"{TODO}: a word stem the answer must contain"]],
        "reference_contexts": [
            {"source": source, "quote": f"{TODO}: a verbatim quote from {source}"}
            for source in sources or [f"{TODO}.md"]
        ],
        "answerable": True,
    }
    body = yaml.safe_dump([case], sort_keys=False, allow_unicode=True, width=110)
    return "\n".join(header) + "\n" + body
