"""Pure formatting for the web chat: an ``Answer`` becomes chat markdown with inline ``[n]``, its evidence as
block quotes, a sources panel and a collapsed "How this answer was made" (``ui_trace``). Everything that
comes from a document, an answer or a user is HTML-escaped here, so a document containing ``<script>`` shows
as text.

The HTML blocks are written on one line: Markdown leaves an HTML block alone up to the next blank line, so
document text inside it is never read as Markdown either.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from html import escape
from typing import Any

from assistant.types import Answer, Citation, DocumentInfo, Evidence, IngestReport, Passage
from assistant.ui_trace import trace_html

_MARKER = re.compile(r"\[(\d{1,3})\]")
# One evidence quote of an answer, as ``answering/compose.py`` writes it: ``> "verbatim words" [1]``
_QUOTE_LINE = re.compile(r'> "(?P<quote>.*)" (?P<markers>(?:\[\d{1,3}\])+)')
_MODEL_REFUSAL = re.compile(r"\W*not in (the )?documents\W*", re.IGNORECASE)
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]|~$])")
_LINE_START = re.compile(r"^(\s*)([#+\-=]|\d+(?=[.)]))", re.MULTILINE)

# Styles for the classes below; passed to ``launch(css=...)`` (Gradio 6 takes css there, not in Blocks).
CSS = """
.ma-cite { font-size: 0.75em; color: var(--color-accent); font-weight: 600; }
.ma-sources { margin-top: 0.6em; border-top: 1px solid var(--border-color-primary); padding-top: 0.4em;
  font-size: 0.9em; }
.ma-sources > summary { cursor: pointer; font-weight: 600; }
.ma-source { margin: 0.5em 0; }
.ma-source-head { color: var(--body-text-color-subdued); }
.ma-source-head b { color: var(--body-text-color); }
.ma-passage { margin: 0.25em 0 0 0; padding: 0.3em 0.6em; border-left: 3px solid var(--color-accent);
  background: var(--background-fill-secondary); white-space: normal; }
.ma-passage mark { background: #fde68a; color: #111; padding: 0 0.1em; border-radius: 2px; }
.ma-refusal { padding: 0.5em 0.7em; border: 1px dashed var(--border-color-primary); border-radius: 6px;
  color: var(--body-text-color-subdued); background: var(--background-fill-secondary); }
.ma-refusal b { color: var(--body-text-color); }
.ma-note { margin-top: 0.5em; font-size: 0.85em; color: var(--body-text-color-subdued); }
.ma-quote { margin: 0.5em 0; padding: 0.3em 0.7em; border-left: 3px solid var(--color-accent);
  background: var(--background-fill-secondary); }
.ma-trace { margin-top: 0.6em; font-size: 0.85em; color: var(--body-text-color-subdued); }
.ma-trace > summary { cursor: pointer; }
.ma-trace ul { margin: 0.2em 0 0.4em 0; }
.ma-error { color: var(--error-text-color, #b91c1c); }
.ma-typing { color: var(--body-text-color-subdued); }
#ma-status { min-height: 1.5em; }
.ma-dot { display: inline-block; width: 0.6em; height: 0.6em; border-radius: 50%; margin-right: 0.4em;
  vertical-align: 0.05em; background: #9ca3af; }
.ma-dot.ok { background: #16a34a; } .ma-dot.wait { background: #f59e0b; }
.ma-dot.busy { background: #2563eb; } .ma-dot.bad { background: #dc2626; }
"""

STATUS_KINDS = ("ok", "wait", "busy", "bad", "none")


def text_to_markdown(text: str) -> str:
    """Plain text shown as Markdown, literally: HTML escaped and Markdown syntax characters backslashed."""
    escaped = _MARKDOWN_SPECIAL.sub(r"\\\1", escape(text, quote=False))
    return _LINE_START.sub(_escape_line_start, escaped)


def _escape_line_start(match: re.Match[str]) -> str:
    """``- x`` -> ``\\- x``; ``1. x`` -> ``1\\. x``: no list or heading starts from document text."""
    lead, mark = match.group(1), match.group(2)
    return f"{lead}{mark}\\" if mark[0].isdigit() else f"{lead}\\{mark}"


def _answer_body(text: str, citations: Sequence[Citation]) -> str:
    """The answer text, escaped, with each ``[n]`` as a small superscript titled with its document."""
    titles = {c.number: f"{c.title} ({c.source})" for c in citations}
    out: list[str] = []
    last = 0
    for match in _MARKER.finditer(text):
        out.append(text_to_markdown(text[last : match.start()]))
        number = int(match.group(1))
        title = escape(titles.get(number, f"source {number}"))
        out.append(f'<sup class="ma-cite" title="{title}">[{number}]</sup>')
        last = match.end()
    out.append(text_to_markdown(text[last:]))
    return "".join(out)


def split_quotes(text: str) -> tuple[str, list[tuple[str, str]]]:
    """The answer's lead and its evidence quotes ``(quote, "[1]")``: every paragraph that is one quote line.

    Anything else (even a line starting with ``>``) stays in the lead, which is shown escaped."""
    lead: list[str] = []
    quotes: list[tuple[str, str]] = []
    for paragraph in re.split(r"\n\s*\n", text.strip()):
        match = _QUOTE_LINE.fullmatch(paragraph.strip())
        if match:
            quotes.append((match.group("quote"), match.group("markers")))
        elif paragraph.strip():
            lead.append(paragraph.strip())
    return "\n\n".join(lead), quotes


def quotes_html(quotes: Sequence[tuple[str, str]], citations: Sequence[Citation]) -> str:
    """The evidence quotes as block quotes: the document's words escaped, each ``[n]`` as a superscript.

    Each is an HTML block on one line, so nothing in the quoted text is read as Markdown."""
    return "\n\n".join(
        f'<blockquote class="ma-quote">“{escape(" ".join(quote.split()))}” '
        f"{_answer_body(markers, citations)}</blockquote>"
        for quote, markers in quotes
    )


def _find_quote(passage: str, quote: str) -> tuple[int, int] | None:
    """Where ``quote`` is in ``passage``: exact, else ignoring case and runs of whitespace."""
    quote = quote.strip()
    if not quote:
        return None
    at = passage.find(quote)
    if at >= 0:
        return at, at + len(quote)
    words = [re.escape(w) for w in quote.split()]
    match = re.search(r"\s+".join(words), passage, flags=re.IGNORECASE)
    return (match.start(), match.end()) if match else None


def highlight_passage(passage: str, quote: str) -> str:
    """The passage, escaped, with the supporting quote inside ``<mark>``."""
    span = _find_quote(passage, quote)
    if span is None:
        marked = escape(passage) if not quote.strip() else escape(passage) + f" <mark>{escape(quote)}</mark>"
        return " ".join(marked.split())
    start, end = span
    marked = f"{escape(passage[:start])}<mark>{escape(passage[start:end])}</mark>{escape(passage[end:])}"
    return " ".join(marked.split())


def _source_head(number: int | None, title: str, source: str, start: int, end: int) -> str:
    label = f"<b>[{number}]</b> " if number is not None else ""
    return (
        f'<div class="ma-source-head">{label}<b>{escape(title)}</b> · '
        f"<code>{escape(source)}</code> · characters {start}–{end}</div>"
    )


def sources_html(citations: Sequence[Citation]) -> str:
    """The sources panel: numbered, title, source, the passage with the quote highlighted."""
    if not citations:
        return ""
    items = "".join(
        f'<div class="ma-source">{_source_head(c.number, c.title, c.source, c.start, c.end)}'
        f'<blockquote class="ma-passage">{highlight_passage(c.passage, c.quote)}</blockquote></div>'
        for c in citations
    )
    return f'<details class="ma-sources" open><summary>Sources ({len(citations)})</summary>{items}</details>'


def _closest_passages_html(passages: Sequence[Passage], limit: int = 2) -> str:
    if not passages:
        return ""
    best = sorted(passages, key=lambda p: p.score, reverse=True)[:limit]
    items = "".join(
        f'<div class="ma-source">{_source_head(None, p.title, p.source, p.start, p.end)}'
        f'<blockquote class="ma-passage">{escape(" ".join(p.text.split()))}</blockquote>'
        f'<div class="ma-note">relevance {p.score:.2f}</div></div>'
        for p in best
    )
    return (
        f'<details class="ma-sources"><summary>Closest passages searched ({len(best)})</summary>'
        f"{items}</details>"
    )


def _unsupported_html(sentences: Sequence[str], refused: bool = False) -> str:
    """Draft sentences the citation check removed (the model's own "NOT IN DOCUMENTS" is no news)."""
    sentences = [s for s in sentences if not _MODEL_REFUSAL.fullmatch(s.strip())]
    if not sentences:
        return ""
    items = "".join(f"<li>{escape(s)}</li>" for s in sentences)
    them = "it" if len(sentences) == 1 else "them"
    if refused:
        return (
            f'<details class="ma-note"><summary>Draft withheld ({len(sentences)} sentence'
            f"{'s' if len(sentences) != 1 else ''}): the documents do not support {them}</summary>"
            f"<ul>{items}</ul></details>"
        )
    return (
        f'<div class="ma-note">Removed from the draft because the documents do not support {them}:'
        f"<ul>{items}</ul></div>"
    )


def _understood_as(answer: Answer) -> str:
    """For a follow-up: the standalone question that was searched for (how "he" or "it" was read)."""
    asked, searched = answer.question.strip(), answer.standalone_question.strip()
    if not searched or " ".join(asked.split()).lower() == " ".join(searched.split()).lower():
        return ""
    return f'<div class="ma-note">Understood as: “{escape(searched)}”</div>'


def _refusal_note(text: str, reason: str | None) -> str:
    why = f" <span>Why: {escape(reason)}</span>" if reason else ""
    return f'<div class="ma-refusal"><b>{escape(text)}</b>{why}</div>'


def format_answer(answer: Answer) -> str:
    """The chat message for a checked answer: its sentences with ``[n]``, the evidence quoted, the sources,
    and how it was made. A refusal is a muted note with the reason; a partial one (the documents lack what
    was asked) still shows what they do say, quoted, with its sources."""
    lead, quotes = split_quotes(answer.text)
    if answer.refused:
        note = _refusal_note(lead, answer.refusal_reason)
        notes = [_understood_as(answer), _unsupported_html(answer.unsupported, refused=True)]
        if quotes:  # partial: what was asked is missing; what the documents do say is quoted
            parts = [note, quotes_html(quotes, answer.citations), sources_html(answer.citations), *notes]
        else:
            parts = [note, *notes, _closest_passages_html(answer.passages)]
    else:
        parts = [
            _answer_body(lead, answer.citations),
            quotes_html(quotes, answer.citations),
            sources_html(answer.citations),
            _unsupported_html(answer.unsupported),
            _understood_as(answer),
        ]
    parts.append(trace_html(answer.trace))
    return "\n\n".join(part for part in parts if part)


def status_html(kind: str, text: str) -> str:
    """The status line: a coloured dot (ok, wait, busy, bad, none) and the text, escaped."""
    kind = kind if kind in STATUS_KINDS else "none"
    return f'<span class="ma-dot {kind}"></span>{escape(text, quote=False)}'


def format_draft(draft: str) -> str:
    """The answer while it streams (before the citation check replaces it)."""
    body = text_to_markdown(draft) if draft.strip() else ""
    return f'{body} <span class="ma-typing">▍</span>'


EVIDENCE_NOTE = "Evidence found — the answer is being written…"


def format_evidence(evidence: Evidence, draft: str = "") -> str:
    """The message while the model writes: its draft so far, then the evidence already chosen, quoted,
    with its sources."""
    _, quotes = split_quotes(evidence.text)
    parts = [
        format_draft(draft),  # the typing cursor shows the answer is still being written
        f'<div class="ma-note ma-typing">{escape(EVIDENCE_NOTE)}</div>',
        quotes_html(quotes, evidence.citations),
        sources_html(evidence.citations),
    ]
    return "\n\n".join(part for part in parts if part)


def format_error(message: str) -> str:
    return f'<div class="ma-refusal ma-error">⚠ {escape(message)}</div>'


def format_question(question: str) -> str:
    return text_to_markdown(question)


def chat_messages(
    turns: list[dict[str, Any]], pending: tuple[str, str] | None = None
) -> list[dict[str, str]]:
    """The chat as Gradio messages: each turn's question and its formatted answer (plus one in progress)."""
    shown = [(t["question"], t["display"]) for t in turns] + ([pending] if pending else [])
    messages: list[dict[str, str]] = []
    for question, display in shown:
        messages += [
            {"role": "user", "content": format_question(question)},
            {"role": "assistant", "content": display},
        ]
    return messages


def plain_history(turns: list[dict[str, Any]]) -> list[dict[str, str]]:
    """What the assistant is told about the conversation: the plain questions and checked answers."""
    history: list[dict[str, str]] = []
    for turn in turns:
        if not turn.get("error"):
            history += [
                {"role": "user", "content": turn["question"]},
                {"role": "assistant", "content": turn["answer"]},
            ]
    return history


def error_turn(question: str, message: str) -> dict[str, Any]:
    return {"question": question, "answer": "", "display": format_error(message), "error": True}


def api_history(history: Any) -> list[dict[str, str]]:
    """An API caller's history: role/content messages (or [question, answer] pairs), as plain text."""
    if not isinstance(history, list):
        raise ValueError("history must be a list of {'role': ..., 'content': ...} messages.")
    clean: list[dict[str, str]] = []
    for item in history:
        if isinstance(item, dict) and item.get("role") in ("user", "assistant"):
            clean.append({"role": item["role"], "content": str(item.get("content") or "")})
        elif isinstance(item, list | tuple) and len(item) == 2:
            clean += [
                {"role": "user", "content": str(item[0] or "")},
                {"role": "assistant", "content": str(item[1] or "")},
            ]
    return clean


def citations_payload(citations: Sequence[Citation]) -> list[dict[str, Any]]:
    """Citations for the API: number, title, source, span, the supporting quote and the passage."""
    return [
        {
            "number": c.number,
            "title": c.title,
            "source": c.source,
            "start": c.start,
            "end": c.end,
            "quote": c.quote,
            "passage": c.passage,
        }
        for c in citations
    ]


def evidence_payload(evidence: Evidence) -> dict[str, Any]:
    """What the API sends as soon as the evidence is chosen (before the model writes)."""
    return {"evidence": evidence.text, "evidence_citations": citations_payload(evidence.citations)}


def answer_payload(answer: Answer) -> dict[str, Any]:
    """What the API returns for one answer: the text, citations, outcome, why it refused, how it was made."""
    return {
        "text": answer.text,
        "outcome": answer.outcome,
        "refused": answer.refused,
        "refusal_reason": answer.refusal_reason,
        "citations": citations_payload(answer.citations),
        "unsupported": list(answer.unsupported),
        "standalone_question": answer.standalone_question,
        "timings": dict(answer.timings),
        "trace": answer.trace,
    }


def documents_rows(documents: Sequence[DocumentInfo]) -> list[list[Any]]:
    """Rows of the documents table: title, source, chunks, added (date and time, UTC)."""
    return [
        [doc.title, doc.source, doc.chunks, doc.added_at.replace("T", " ").replace("+00:00", " UTC")]
        for doc in documents
    ]


def report_markdown(report: IngestReport, exists_hint: str = "") -> str:
    """One line per uploaded file: what happened to it, in words a person can act on."""
    lines = []
    for outcome in report.outcomes:
        name = text_to_markdown(outcome.source)
        if outcome.status == "failed":
            reason = outcome.error or "failed"
            hint = f" {exists_hint}" if exists_hint and "exists already" in reason else ""
            lines.append(f"- ✗ **{name}**: {text_to_markdown(reason)}{hint}")
        elif outcome.status == "unchanged":
            lines.append(f"- = **{name}**: already indexed, unchanged ({outcome.chunks} passages)")
        else:
            lines.append(f"- ✓ **{name}**: {outcome.status}, {outcome.chunks} passages, ready to ask about")
    return "\n".join(lines) or "No files."
