"""The chat's collapsed "How this answer was made": ``trace_html(answer.trace)``.

The trace (``assistant/answering/trace.py``) holds document text, the model's draft and the user's question:
every value is escaped and put on one line, so the HTML block is never cut by a blank line and nothing in it
is read as Markdown or HTML.
"""

from __future__ import annotations

from collections.abc import Iterable
from html import escape
from typing import Any

_EVIDENCE_SHOWN = 4  # windows listed (the trace keeps up to six)


def _text(value: object) -> str:
    """Any value as escaped text on one line."""
    return escape(" ".join(str(value).split()))


def _score(value: object) -> str:
    return f"{value:.2f}" if isinstance(value, int | float) else _text(value)


def _numbers(indexes: object, base: int = 1) -> str:
    """Passage indexes as ``[1][3]`` (the trace keeps sentences' passages 0-based)."""
    items = indexes if isinstance(indexes, list | tuple) else []
    return "".join(f"[{_text(i + base if isinstance(i, int) else i)}]" for i in items)


def _words(values: object) -> str:
    items = values if isinstance(values, list | tuple) else []
    return ", ".join(_text(v) for v in items)


def _list(title: str, items: Iterable[str]) -> str:
    rows = "".join(f"<li>{item}</li>" for item in items)
    return f"<div><b>{title}</b><ul>{rows}</ul></div>" if rows else ""


def _answer_type(kind: object) -> str:
    if not isinstance(kind, dict) or not kind:
        return ""
    labels = _words(kind.get("labels"))
    details = "; ".join(part for part in (labels, "strict" if kind.get("strict") else "") if part)
    return (
        f"<div><b>Answer type:</b> {_text(kind.get('kind', '?'))}{f' ({details})' if details else ''}</div>"
    )


def _passage(item: dict[str, Any]) -> str:
    return (
        f"[{_text(item.get('number', '?'))}] <code>{_text(item.get('source', ''))}</code> · "
        f"score {_score(item.get('score', ''))}"
    )


def _window(item: dict[str, Any], quoted: bool) -> str:
    fillers = _words(item.get("fillers"))
    head = (
        f"[{_text(item.get('number', '?'))}] score {_score(item.get('score', ''))} · "
        f"similarity {_score(item.get('similarity', ''))} · overlap {_score(item.get('overlap', ''))}"
        + (f" · fillers: {fillers}" if fillers else "")
        + (" · <b>quoted</b>" if quoted else "")
    )
    return f"{head}<br>“{_text(item.get('text', ''))}”"


def _sentence(item: dict[str, Any]) -> str:
    verdict = "✓ shown" if item.get("shown") else "✗ removed"
    parts = [f"{verdict}: “{_text(item.get('text', ''))}”"]
    if item.get("cited"):
        parts.append(f"cited {_numbers(item.get('cited'))}")
    if item.get("passages"):
        parts.append(f"carried by {_numbers(item.get('passages'))}")
    if item.get("missing"):
        parts.append(f"missing: {_words(item.get('missing'))}")
    if item.get("premise"):
        parts.append(f"(from the question: {_words(item.get('premise'))})")
    return " · ".join(parts)


def _draft(draft: object) -> str:
    lines = [_text(line) for line in str(draft or "").splitlines() if line.strip()]
    return (
        f'<div><b>Draft:</b><blockquote class="ma-passage">{"<br>".join(lines)}</blockquote></div>'
        if lines
        else ""
    )


def _dicts(value: object) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list | tuple) else []


def trace_html(trace: dict[str, Any]) -> str:
    """The collapsed trace of one answer (empty when there is none)."""
    if not trace:
        return ""
    quoted = {i for i in trace.get("quoted") or [] if isinstance(i, int)}
    outcome = _text(trace.get("outcome") or "")
    reason = _text(trace.get("reason") or "")
    searched = _text(trace.get("standalone_question") or "")
    parts = [
        f"<div><b>Searched for:</b> “{searched}”</div>" if searched else "",
        _answer_type(trace.get("answer_type")),
        _list("Passages, in prompt order", (_passage(p) for p in _dicts(trace.get("passages")))),
        _list(
            "Best evidence windows",
            (_window(w, i in quoted) for i, w in enumerate(_dicts(trace.get("evidence"))[:_EVIDENCE_SHOWN])),
        ),
        _draft(trace.get("draft")),
        _list("Draft sentences", (_sentence(s) for s in _dicts(trace.get("sentences")))),
        f"<div><b>Outcome:</b> {outcome}{f' · {reason}' if reason else ''}</div>" if outcome else "",
    ]
    body = "".join(part for part in parts if part)
    return f'<details class="ma-trace"><summary>How this answer was made</summary>{body}</details>'
