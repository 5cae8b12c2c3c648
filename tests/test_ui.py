"""The web chat's handlers, called directly with a fake LLM, and its pure formatting helpers."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gradio as gr
import pytest

from assistant import ui_format as fmt
from assistant.auth import UserStore
from assistant.service import Assistant
from assistant.types import (
    Answer,
    Citation,
    DocumentInfo,
    Evidence,
    FileOutcome,
    IngestReport,
    Passage,
    Token,
)
from assistant.ui import ChatHandlers, build_ui

JOINT = "Which technologies were named for joint ventures?"
GOOD = "The leaders named AI and semiconductors for joint ventures [1]."
PASSAGE = (
    "The United States is keen on fostering a new era of U.S.-Japan relations. This entails ongoing "
    "collaboration to promote joint ventures in critical technologies such as AI and semiconductors."
)
QUOTE = PASSAGE[PASSAGE.index("This entails") :]


def citation(passage: str = PASSAGE, quote: str = QUOTE, **kw: Any) -> Citation:
    fields = dict(number=1, chunk_id="c1", source="a.md", title="Title", start=0, end=len(passage))
    return Citation(passage=passage, quote=quote, **{**fields, **kw})


def answer(**kw: Any) -> Answer:
    fields: dict[str, Any] = dict(question="q", standalone_question="q", text=GOOD, citations=[citation()])
    return Answer(**{**fields, **kw})


# --- formatting ------------------------------------------------------------------------------------------
def test_answer_has_inline_markers_and_sources_with_the_quote_marked() -> None:
    html = fmt.format_answer(answer())
    assert '<sup class="ma-cite" title="Title (a.md)">[1]</sup>' in html
    assert "Sources (1)" in html and "<code>a.md</code>" in html
    assert f"<mark>{QUOTE}</mark>" in html
    assert html.index("<mark>") > html.index("The United States")  # inside its passage


def test_document_html_is_escaped_everywhere() -> None:
    evil = "Before <script>alert(1)</script> and <img src=x onerror=alert(2)> after."
    cited = citation(passage=evil, quote="<script>alert(1)</script>", title="<b>T</b>", source="<x>.md")
    text = "It says <script>alert(3)</script> [1]. See [link](javascript:alert(4))"
    html = fmt.format_answer(answer(text=text, citations=[cited], unsupported=["<i>gone</i>"]))
    assert "<script>" not in html and "<img" not in html and "<b>T</b>" not in html and "<i>" not in html
    assert "<mark>&lt;script&gt;alert(1)&lt;/script&gt;</mark>" in html
    assert "&lt;x&gt;.md" in html and "&lt;i&gt;gone&lt;/i&gt;" in html
    assert "\\[link\\](javascript" in html  # Markdown link syntax is backslashed: shown as text
    refusal = fmt.format_answer(answer(refused=True, text="<script>x</script>", refusal_reason="<b>why</b>"))
    assert "<script>" not in refusal and "&lt;b&gt;why&lt;/b&gt;" in refusal


def test_evidence_quotes_are_block_quotes_with_the_document_words_escaped() -> None:
    text = f'{GOOD}\n\n> "{QUOTE}" [1]\n\n> "Tariffs <b>*fell*</b> [link](javascript:x)" [2]'
    second = citation(number=2, source="b.md", title="B", passage="Tariffs <b>*fell*</b>.", quote="Tariffs")
    html = fmt.format_answer(answer(text=text, citations=[citation(), second]))
    lead, *blocks = html.split("\n\n")
    assert (
        lead.startswith("The leaders named AI")
        and '<sup class="ma-cite" title="Title (a.md)">[1]</sup>' in lead
    )
    assert blocks[0] == (
        f'<blockquote class="ma-quote">“{QUOTE}” '
        '<sup class="ma-cite" title="Title (a.md)">[1]</sup></blockquote>'
    )
    assert blocks[1] == (
        '<blockquote class="ma-quote">“Tariffs &lt;b&gt;*fell*&lt;/b&gt; [link](javascript:x)” '
        '<sup class="ma-cite" title="B (b.md)">[2]</sup></blockquote>'
    )
    assert "&gt; &quot;" not in html and '&gt; "' not in html and "<b>*fell*" not in html
    assert html.index("ma-quote") < html.index("Sources (2)")
    # only whole quote paragraphs are quotes: any other ">" line stays escaped text
    odd = fmt.format_answer(answer(text='> not a "quote" [1]\n\n> "unclosed [1]', citations=[citation()]))
    assert "ma-quote" not in odd and "&gt; not a" in odd and '&gt; "unclosed' in odd


def test_partial_refusal_shows_what_the_documents_do_say_with_its_sources() -> None:
    near = Passage("c", "Closest paragraph text.", "a.md", "Title", 0, 0, 23, 0.21)
    text = f'The documents don\'t say when. What they do say:\n\n> "{QUOTE}" [1]'
    reason = "The question asks when; no passage found for it holds an answer of that kind."
    partial = answer(
        text=text, refused=True, refusal_reason=reason, outcome="partial", passages=[near], unsupported=["x."]
    )
    html = fmt.format_answer(partial)
    note, quote, *rest = html.split("\n\n")
    assert note == (
        '<div class="ma-refusal"><b>The documents don&#x27;t say when. What they do say:</b> '
        f"<span>Why: {reason}</span></div>"
    )
    assert quote.startswith(f'<blockquote class="ma-quote">“{QUOTE}” <sup class="ma-cite"')
    assert rest[0].startswith('<details class="ma-sources" open><summary>Sources (1)</summary>')
    assert f"<mark>{QUOTE}</mark>" in rest[0] and "Draft withheld (1 sentence)" in html
    assert "Closest passages searched" not in html  # the quotes and their sources are what is shown


TRACE: dict[str, Any] = {
    "standalone_question": "When did <script>alert(1)</script> meet?",
    "answer_type": {"kind": "date", "labels": ["DATE", "TIME"], "strict": True},
    "passages": [
        {"number": 1, "source": "b<i>.md", "chunk_id": "c2", "score": 0.61234},
        {"number": 2, "source": "a.md", "chunk_id": "c1", "score": 0.5},
    ],
    "evidence": [
        {
            "number": 1,
            "passage": 0,
            "text": "They met <script>alert(2)</script>\n\n* on Friday.",
            "start": 0,
            "end": 40,
            "fillers": ["Friday"],
            "similarity": 0.7,
            "overlap": 0.25,
            "score": 0.83,
        },
        {
            "number": 2,
            "passage": 1,
            "text": "Other.",
            "fillers": [],
            "similarity": 0.3,
            "overlap": 0.0,
            "score": 0.3,
        },
    ],
    "quoted": [0],
    "draft": "They met in <img src=x onerror=alert(3)> [1].\n\nNOT IN DOCUMENTS",
    "sentences": [
        {
            "text": "They met in <img>.",
            "cited": [0],
            "passages": [0],
            "missing": [],
            "premise": [],
            "shown": True,
        },
        {
            "text": "They <b>danced</b>.",
            "cited": [1],
            "passages": [],
            "missing": ["dance"],
            "premise": ["meet"],
        },
    ],
    "outcome": "answered",
    "reason": None,
}


def test_trace_is_a_collapsed_escaped_account_of_how_the_answer_was_made() -> None:
    html = fmt.trace_html(TRACE)
    assert html.startswith('<details class="ma-trace"><summary>How this answer was made</summary>')
    assert html.endswith("</details>") and " open" not in html and "\n" not in html
    for raw in ("<script>", "<img", "<i>", "<b>danced"):
        assert raw not in html
    assert "Searched for:</b> “When did &lt;script&gt;alert(1)&lt;/script&gt; meet?”" in html
    assert "Answer type:</b> date (DATE, TIME; strict)" in html
    assert "[1] <code>b&lt;i&gt;.md</code> · score 0.61" in html and html.index("b&lt;i&gt;.md") < html.index(
        "<code>a.md</code>"
    )
    assert (
        "[1] score 0.83 · similarity 0.70 · overlap 0.25 · fillers: Friday · <b>quoted</b><br>"
        "“They met &lt;script&gt;alert(2)&lt;/script&gt; * on Friday.”"
    ) in html
    assert "[2] score 0.30 · similarity 0.30 · overlap 0.00<br>“Other.”" in html
    assert "They met in &lt;img src=x onerror=alert(3)&gt; [1].<br>NOT IN DOCUMENTS" in html
    assert "✓ shown: “They met in &lt;img&gt;.” · cited [1] · carried by [1]" in html
    assert "✗ removed: “They &lt;b&gt;danced&lt;/b&gt;.” · cited [2] · missing: dance" in html
    assert "(from the question: meet)" in html and "Outcome:</b> answered" in html
    assert fmt.trace_html({}) == ""
    shown = fmt.format_answer(answer(trace=TRACE))
    assert shown.endswith(html) and "<script>" not in shown
    assert "ma-trace" not in fmt.format_answer(answer())


def test_answer_payload_has_the_outcome_and_the_trace() -> None:
    payload = fmt.answer_payload(answer(outcome="answered", trace=TRACE))
    assert payload["outcome"] == "answered" and payload["trace"] == TRACE
    evidence = Evidence(f'> "{QUOTE}" [1]', [citation()])
    assert fmt.evidence_payload(evidence) == {
        "evidence": evidence.text,
        "evidence_citations": payload["citations"],
    }


def test_quote_found_despite_different_spacing_and_case_else_shown_after_the_passage() -> None:
    spaced = fmt.highlight_passage("One   two\nTHREE four.", "one two three")
    assert spaced == "<mark>One two THREE</mark> four."
    missing = fmt.highlight_passage("Alpha beta.", "gamma")
    assert missing == "Alpha beta. <mark>gamma</mark>"


def test_refusal_is_a_muted_note_with_the_reason_and_the_closest_passages() -> None:
    near = Passage("c", "Closest paragraph text.", "a.md", "Title", 0, 0, 23, 0.21)
    html = fmt.format_answer(
        answer(
            refused=True, text="The documents don't say.", refusal_reason="Best match 0.21.", passages=[near]
        )
    )
    assert 'class="ma-refusal"' in html and "Why: Best match 0.21." in html
    assert "Closest passages searched (1)" in html and "relevance 0.21" in html
    assert "Sources (" not in html


def test_unsupported_sentences_are_listed_in_a_small_note() -> None:
    html = fmt.format_answer(answer(unsupported=["The meeting was in Paris."]))
    assert "do not support it" in html and "<li>The meeting was in Paris.</li>" in html
    withheld = fmt.format_answer(
        answer(refused=True, unsupported=["It was $5 billion.", "NOT IN DOCUMENTS."])
    )
    assert "Draft withheld (1 sentence)" in withheld and "<li>It was $5 billion.</li>" in withheld
    assert "NOT IN DOCUMENTS" not in withheld


def test_a_follow_up_shows_how_it_was_understood() -> None:
    html = fmt.format_answer(
        answer(question="What did he use it for?", standalone_question="What did Abe use <it> for?")
    )
    assert "Understood as: “What did Abe use &lt;it&gt; for?”" in html
    assert "Understood as" not in fmt.format_answer(answer(question="q ", standalone_question="Q"))


def test_documents_rows_and_report_lines() -> None:
    doc = DocumentInfo("a.md", "A title", 3, "h", "2026-11-27T10:00:00+00:00", 10)
    assert fmt.documents_rows([doc]) == [["A title", "a.md", 3, "2026-11-27 10:00:00 UTC"]]
    report = IngestReport(
        [
            FileOutcome("b.md", "added", 2),
            FileOutcome("a.md", "failed", error="a document with this name exists already"),
        ]
    )
    text = fmt.report_markdown(report, exists_hint="Tick replace.")
    assert "✓ **b.md**: added, 2 passages" in text and "exists already Tick replace." in text


# --- chat handlers ---------------------------------------------------------------------------------------
MakeHandlers = Callable[..., ChatHandlers]


@pytest.fixture
def make_handlers(make_assistant: Callable[..., Assistant], seed_corpus: Path) -> MakeHandlers:
    def make(responses: list[str] | None = None, users: UserStore | None = None) -> ChatHandlers:
        assistant = make_assistant(responses=responses or [GOOD] * 4)
        assistant.ingest()
        return ChatHandlers(assistant, users)

    return make


def run_chat(handlers: ChatHandlers, message: str, turns: list[Any] | None = None) -> list[tuple[Any, ...]]:
    return list(handlers.respond(message, turns or []))


def record_events(handlers: ChatHandlers, monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every event the assistant streams to the handlers (the real chain, with its fake model)."""
    events: list[Any] = []
    real = handlers.assistant.stream

    def spy(question: str, history: Any = ()) -> Any:
        for event in real(question, history):
            events.append(event)
            yield event

    monkeypatch.setattr(handlers.assistant, "stream", spy)
    return events


def test_answer_streams_then_is_replaced_by_the_checked_answer(
    make_handlers: MakeHandlers, monkeypatch: pytest.MonkeyPatch
) -> None:
    handlers = make_handlers()
    events = record_events(handlers, monkeypatch)
    steps = run_chat(handlers, JOINT)
    first_chat, _, _, textbox = steps[0]
    assert textbox == "" and first_chat[0] == {"role": "user", "content": fmt.format_question(JOINT)}
    drafts = [chat[-1]["content"] for chat, *_ in steps[1:-1]]
    assert len(drafts) > 3 and "ma-typing" in drafts[-1] and "semiconductors" in drafts[-1]
    chat, turns, status, _ = steps[-1]
    assert len(chat) == 2 and "ma-typing" not in chat[1]["content"]
    assert "<mark>" in chat[1]["content"] and "meeting-article.md" in chat[1]["content"]
    assert "ma-quote" in chat[1]["content"] and "How this answer was made" in chat[1]["content"]
    assert "Answered in" in status and "evidence after" in status
    answer = events[-1]
    assert isinstance(answer, Answer) and chat[1]["content"] == fmt.format_answer(answer)
    assert turns[0]["answer"] == answer.text and turns[0]["citations"][0]["source"] == "meeting-article.md"


def test_evidence_is_shown_before_the_model_writes(
    make_handlers: MakeHandlers, monkeypatch: pytest.MonkeyPatch
) -> None:
    handlers = make_handlers()
    events = record_events(handlers, monkeypatch)
    steps = run_chat(handlers, JOINT)
    evidence = events[0]
    assert isinstance(evidence, Evidence) and isinstance(events[1], Token)
    chat, _, status, _ = steps[1]  # the first step after "Answering…" is the evidence alone
    shown = chat[-1]["content"]
    assert shown == fmt.format_evidence(evidence)
    assert shown.startswith('<span class="ma-typing">▍</span>', 1)  # the cursor: still being written
    assert '<div class="ma-note ma-typing">Evidence found — the answer is being written…</div>' in shown
    assert '<blockquote class="ma-quote">“' in shown and '<sup class="ma-cite"' in shown
    assert "Sources (" in shown and "meeting-article.md" in shown and "<mark>" in shown
    assert "Evidence found after" in status and "s; the answer is being written" in status
    # then the draft streams above the evidence, which stays until the checked answer replaces it all
    chat, _, status, _ = steps[-2]
    writing = chat[-1]["content"]
    assert writing.index("The leaders named AI") < writing.index("Evidence found") < writing.index("ma-quote")
    assert "ma-typing" in writing and "evidence after" in status and "first words after" in status
    assert "Evidence found" not in steps[-1][0][-1]["content"]


def test_follow_up_sends_plain_history_not_html(make_handlers: MakeHandlers, monkeypatch) -> None:
    handlers = make_handlers()
    first = record_events(handlers, monkeypatch)
    turns = run_chat(handlers, JOINT)[-1][1]
    seen: dict[str, Any] = {}

    def fake_stream(question: str, history: list[dict[str, str]]):
        seen["history"] = history
        yield answer(question=question, text="AI [1].")

    monkeypatch.setattr(handlers.assistant, "stream", fake_stream)
    chat, turns, _, _ = run_chat(handlers, "And which one first?", turns)[-1]
    plain = first[-1].text  # the checked answer as text (its quotes as Markdown), not the chat's HTML
    assert seen["history"] == [{"role": "user", "content": JOINT}, {"role": "assistant", "content": plain}]
    assert "<" not in plain
    assert len(chat) == 4 and len(turns) == 2


def test_refusal_is_shown_with_its_reason(make_handlers: MakeHandlers) -> None:
    chat, turns, status, _ = run_chat(make_handlers(["NOT IN DOCUMENTS"]), "How do I bake sourdough bread?")[
        -1
    ]
    assert 'class="ma-refusal"' in chat[-1]["content"] and "Why: No passage" in chat[-1]["content"]
    assert "Closest passages searched" in chat[-1]["content"] and "ma-quote" not in chat[-1]["content"]
    assert turns[0]["refused"] and "don't cover" in status


def test_partial_refusal_is_shown_with_its_reason_and_what_the_documents_say(
    make_handlers: MakeHandlers, monkeypatch: pytest.MonkeyPatch
) -> None:
    handlers = make_handlers(["NOT IN DOCUMENTS"])
    events = record_events(handlers, monkeypatch)
    chat, turns, status, _ = run_chat(handlers, "What is the tariff rate?")[-1]
    partial = events[-1]
    assert partial.outcome == "partial" and partial.refused and partial.citations
    shown = chat[-1]["content"]
    assert shown.startswith('<div class="ma-refusal"><b>The documents don&#x27;t say')
    assert f"Why: {partial.refusal_reason}" in shown
    assert shown.index("ma-refusal") < shown.index('<blockquote class="ma-quote">') < shown.index("Sources (")
    assert "tariffs" in shown and "<mark>" in shown and "Closest passages searched" not in shown
    assert turns[0]["refused"] and turns[0]["citations"] and "what they do say is quoted" in status


def test_errors_become_a_message_not_a_traceback(make_handlers: MakeHandlers) -> None:
    handlers = make_handlers()
    with pytest.warns(UserWarning, match="limit is 2,000"):
        chat, turns, status, _ = run_chat(handlers, "why " * 600)[-1]
    assert "ma-error" in chat[-1]["content"] and "limit is 2,000" in status and "Traceback" not in status
    assert turns[0]["error"]
    # the failed turn is not sent as history
    with pytest.warns(UserWarning, match="Please type a question"):
        assert run_chat(handlers, "   ", turns)[-1][1] == turns


def test_new_conversation_clears_everything(make_handlers: MakeHandlers) -> None:
    chat, turns, _, text = make_handlers().new_conversation()
    assert chat == [] and turns == [] and text == ""


def test_api_chat_keeps_the_session_or_takes_explicit_history(
    make_handlers: MakeHandlers, monkeypatch: pytest.MonkeyPatch
) -> None:
    handlers = make_handlers([GOOD] * 6)
    events = record_events(handlers, monkeypatch)
    (evidence, _), *drafts, (final, session) = list(handlers.api_chat(JOINT, None, []))
    assert evidence == {**fmt.evidence_payload(events[0]), "done": False} and "draft" not in evidence
    assert evidence["evidence"].startswith('> "') and evidence["evidence_citations"][0]["number"] == 1
    assert drafts and drafts[-1][0]["done"] is False and "semiconductors" in drafts[-1][0]["draft"]
    assert drafts[-1][0]["evidence"] == evidence["evidence"]  # a draft payload still carries the evidence
    assert final["done"] and final["text"] == events[-1].text and final["citations"][0]["number"] == 1
    assert final["outcome"] == events[-1].outcome and final["trace"]["standalone_question"] == JOINT
    assert session == final["history"] and len(session) == 2
    final2, session2 = list(handlers.api_chat("And AI?", None, session))[-1]
    assert len(session2) == 4 and final2["history"][0]["content"] == JOINT
    given = [[JOINT, GOOD]]  # pairs are accepted as well as messages
    _, session3 = list(handlers.api_chat("And AI?", given, session2))[-1]
    assert len(session3) == 4
    with pytest.raises(gr.Error, match="Please type a question"):
        list(handlers.api_chat("", None, []))
    with pytest.raises(gr.Error, match="history must be a list"):
        list(handlers.api_chat("And AI?", "not a list", []))


# --- feedback --------------------------------------------------------------------------------------------
def test_thumbs_and_comment_go_to_the_feedback_log(
    make_handlers: MakeHandlers, monkeypatch: pytest.MonkeyPatch
) -> None:
    handlers = make_handlers()
    events = record_events(handlers, monkeypatch)
    turns = run_chat(handlers, JOINT)[-1][1]
    like = gr.LikeData(None, {"index": 1, "value": ["..."], "liked": False})
    status, comment, turns = handlers.rate(turns, "", like, gr.Request(username="ann"))
    assert "Thanks" in status and turns[0]["feedback_id"]
    status, comment = handlers.add_comment(turns, "Should mention AI first.", gr.Request(username="ann"))
    assert "Comment saved" in status and comment == ""
    [entry] = handlers.feedback.entries()
    assert entry["rating"] == "down" and entry["question"] == JOINT and entry["answer"] == events[-1].text
    assert entry["comment"] == "Should mention AI first." and entry["user"] == "ann"
    assert entry["citations"][0]["source"] == "meeting-article.md" and entry["time"]
    unliked = gr.LikeData(None, {"index": 1, "value": ["..."], "liked": ""})
    handlers.rate(turns, "", unliked)  # taking a thumb back records nothing
    assert len(handlers.feedback.entries()) == 1
    lines = handlers.feedback.path.read_text().splitlines()
    assert [json.loads(x)["type"] for x in lines] == ["rating", "comment"]


def test_comment_without_a_rating_asks_for_one(make_handlers: MakeHandlers) -> None:
    status, comment = make_handlers().add_comment([], "hm")
    assert "first" in status and comment == "hm"


# --- documents: upload, remove, roles --------------------------------------------------------------------
class Upload(str):
    """A path with the name the browser gave (as a FileData's orig_name would carry)."""

    orig_name: str


def upload_file(tmp_path: Path, name: str, text: str | bytes, orig_name: str | None = None) -> Upload:
    folder = tmp_path / "uploads" / str(len(list(tmp_path.glob("uploads/*"))))
    folder.mkdir(parents=True)
    path = folder / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    item = Upload(str(path))
    item.orig_name = orig_name or name
    return item


NOTE = "The hydrogen working group of Kyoto met on the ferry to discuss fuel cells.\n"


def test_upload_saves_under_a_safe_name_and_is_answerable(
    make_handlers: MakeHandlers, tmp_path: Path
) -> None:
    handlers = make_handlers()
    corpus = handlers.assistant.settings.corpus_dir
    files = [
        upload_file(tmp_path, "x.md", NOTE, orig_name="../../x.md"),
        upload_file(
            tmp_path, "evil.md", "Osaka trade notes about ports and ships.\n", orig_name="/etc/evil.md"
        ),
    ]
    message, rows, _, cleared = handlers.upload(files, False)
    assert "✓ **x.md**: added" in message and "✓ **evil.md**: added" in message and cleared is None
    assert (corpus / "x.md").read_text() == NOTE and (corpus / "evil.md").exists()
    assert not (tmp_path / "x.md").exists() and not Path("/etc/evil.md").exists()
    assert {row[1] for row in rows} == {"meeting-article.md", "x.md", "evil.md"}
    assert handlers.assistant.search("hydrogen working group ferry", 1)[0].source == "x.md"


def test_existing_name_is_not_overwritten_without_asking(make_handlers: MakeHandlers, tmp_path: Path) -> None:
    handlers = make_handlers()
    target = handlers.assistant.settings.corpus_dir / "meeting-article.md"
    before = target.read_bytes()
    message, *_ = handlers.upload([upload_file(tmp_path, "meeting-article.md", NOTE)], False)
    assert "exists already" in message and "Replace documents with the same name" in message
    assert target.read_bytes() == before
    message, *_ = handlers.upload([upload_file(tmp_path, "meeting-article.md", NOTE)], True)
    assert "✓ **meeting-article.md**: updated" in message and target.read_text() == NOTE


def test_bad_file_gets_a_clear_message_and_nothing_is_lost(
    make_handlers: MakeHandlers, tmp_path: Path
) -> None:
    handlers = make_handlers()
    corpus = handlers.assistant.settings.corpus_dir
    before = sorted(p.name for p in corpus.iterdir())
    article = (corpus / "meeting-article.md").read_bytes()
    broken = b"%PDF-1.4 this is not really a pdf"
    message, *_ = handlers.upload([upload_file(tmp_path, "broken.pdf", broken)], False)
    assert "✗ **broken.pdf**" in message and "Traceback" not in message
    message2, *_ = handlers.upload([upload_file(tmp_path, "tool.exe", b"MZ")], False)
    assert "unsupported file type" in message2
    # a bad replacement does not take the place of a good document
    message3, rows3, *_ = handlers.upload(
        [upload_file(tmp_path, "meeting-article.md", b"\x00\x01" * 50)], True
    )
    assert "✗ **meeting-article.md**" in message3 and "old one is kept" in message3
    assert sorted(p.name for p in corpus.iterdir()) == before
    assert (corpus / "meeting-article.md").read_bytes() == article
    assert [r[1] for r in rows3] == ["meeting-article.md"] and rows3[0][2] == 11


def test_unexpected_upload_failure_is_a_message(
    make_handlers: MakeHandlers, tmp_path: Path, monkeypatch
) -> None:
    handlers = make_handlers()

    def broken(*args: Any, **kwargs: Any) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(handlers.assistant, "add_files", broken)
    message, rows, *_ = handlers.upload([upload_file(tmp_path, "x.md", NOTE)], False)
    assert "Something went wrong" in message and "disk full" not in message and len(rows) == 1


def test_upload_without_files_says_so(make_handlers: MakeHandlers) -> None:
    with pytest.warns(UserWarning):
        message, *_ = make_handlers().upload([], False)
    assert "Choose one or more files" in message


def test_readers_cannot_upload_or_remove_even_through_the_api(
    make_handlers: MakeHandlers, users: UserStore, tmp_path: Path
) -> None:
    handlers = make_handlers(users=users)
    corpus = handlers.assistant.settings.corpus_dir
    for request in (gr.Request(username="rob"), None, gr.Request(username="stranger")):
        with pytest.warns(UserWarning, match="Only an admin"):
            message, *_ = handlers.upload([upload_file(tmp_path, "x.md", NOTE)], False, request=request)
        assert "Only an admin" in message and not (corpus / "x.md").exists()
        with pytest.warns(UserWarning, match="Only an admin"):
            message, rows, _ = handlers.remove("meeting-article.md", request=request)
        assert "Only an admin" in message and len(rows) == 1
    message, *_ = handlers.upload(
        [upload_file(tmp_path, "x.md", NOTE)], False, request=gr.Request(username="ann")
    )
    assert "✓ **x.md**" in message
    message, rows, _ = handlers.remove("x.md", request=gr.Request(username="ann"))
    assert "Removed **x.md**" in message and [r[1] for r in rows] == ["meeting-article.md"]
    assert not (corpus / "x.md").exists()
    assert list((handlers.assistant.settings.data_dir / "removed").glob("*-x.md"))


def test_page_load_shows_the_admin_tools_to_admins_only(
    make_handlers: MakeHandlers, users: UserStore
) -> None:
    handlers = make_handlers(users=users)
    who, admin_col, note, rows, *_ = handlers.on_load(gr.Request(username="rob"))
    assert "**rob** (reader)" in who and "Log out" in who
    assert admin_col.visible is False and note.visible is True and len(rows) == 1
    _, admin_col, note, *_ = handlers.on_load(gr.Request(username="ann"))
    assert admin_col.visible is True and note.visible is False
    open_handlers = ChatHandlers(handlers.assistant)  # no users file: no login, everyone may manage
    who, admin_col, *_ = open_handlers.on_load(None)
    assert who == "" and admin_col.visible is True


def test_remove_unknown_document_is_a_message(make_handlers: MakeHandlers) -> None:
    with pytest.warns(UserWarning):
        message, rows, _ = make_handlers().remove("nope.md")
    assert "No document named 'nope.md'" in message and len(rows) == 1


def test_status_reports_warm_up_ready_and_load_errors(make_handlers: MakeHandlers) -> None:
    handlers = make_handlers()
    assert "warming up" in handlers.status()
    status, timer = handlers.tick()
    assert timer.active is True
    handlers.assistant.chain  # noqa: B018
    status, timer = handlers.tick()
    assert "Ready · 1 document indexed" in status and timer.active is False

    class Broken:
        def ready(self) -> bool:
            return False

        def error(self) -> str | None:
            return "no <b>model</b>"

    broken = ChatHandlers(handlers.assistant, warmup=Broken())
    assert "could not be loaded: no &lt;b&gt;model&lt;/b&gt;" in broken.status()
    assert broken.tick()[1].active is False


def test_build_ui_wires_a_named_chat_endpoint_without_launching(make_handlers: MakeHandlers) -> None:
    demo = build_ui(make_handlers().assistant)
    names = {fn.api_name for fn in demo.fns.values()}
    assert {"chat", "upload", "remove"} <= names
    assert not demo.is_running
