"""The web chat: ``build_ui(assistant)`` returns Gradio Blocks; it never launches itself (see webapp.py).

Thin: each handler calls the ``Assistant`` and formats with ``ui_format``. Roles are enforced in the
handlers (from ``gr.Request.username``), so the API is protected as well as the page.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Protocol

import gradio as gr

from assistant import ui_format as fmt
from assistant.auth import UserStore
from assistant.errors import AccessError, AssistantError
from assistant.eval_runs import ChatPriority, EvalRuns
from assistant.feedback import FeedbackLog, feedback_path
from assistant.service import Assistant
from assistant.types import Answer, Evidence, FileOutcome, IngestReport, Token
from assistant.ui_eval import EvalHandlers, build_eval_tab

log = logging.getLogger(__name__)

EXAMPLES = [
    "Which technologies were named for joint ventures?",
    "What commitments are U.S. officials seeking from Japan?",
    "What does Prime Minister Ishiba hope to achieve?",
    "Which former prime minister is mentioned?",
]
UPLOAD_TYPES = [".txt", ".md", ".pdf", ".docx", ".html"]
UNEXPECTED = "Something went wrong on the server (details are in its log). Please try again."
_KEEP_MESSAGES = 40  # API conversation kept per session


def _username(request: gr.Request | None) -> str | None:
    return getattr(request, "username", None) if request is not None else None


class Warmup(Protocol):
    """The model loading in the background (``webapp.ModelWarmup``)."""

    def ready(self) -> bool: ...

    def error(self) -> str | None: ...


class _Progress:
    """One answer on its way: the evidence and the draft so far, and when each first arrived."""

    def __init__(self, started: float) -> None:
        self.started = started
        self.evidence: Evidence | None = None
        self.draft = ""
        self.evidence_s: float | None = None
        self.first_s: float | None = None

    def seen(self, event: Evidence | Token) -> None:
        now = time.perf_counter() - self.started
        if isinstance(event, Evidence):
            self.evidence, self.evidence_s = event, now
            return
        if self.first_s is None:
            self.first_s = now
        self.draft += event.text

    def display(self) -> str:
        if self.evidence is not None:
            return fmt.format_evidence(self.evidence, self.draft)
        return fmt.format_draft(self.draft)

    def _times(self) -> str:
        times = [
            f"{what} after {seconds:.1f} s"
            for what, seconds in (("evidence", self.evidence_s), ("first words", self.first_s))
            if seconds is not None
        ]
        return f" ({', '.join(times)})" if times else ""

    def status(self, model_ready: bool) -> str:
        if self.first_s is None and self.evidence_s is not None:
            then = (
                "the answer is being written…"
                if model_ready
                else "waiting for the language model to warm up to write the answer…"
            )
            note = f"Evidence found after {self.evidence_s:.1f} s; {then}"
            return fmt.status_html("busy", note)
        return fmt.status_html("busy", "Answering…" + self._times())

    def final(self, answer: Answer) -> str:
        if answer.refused and answer.citations:
            return fmt.status_html(
                "none", "The documents don't say exactly this; what they do say is quoted."
            )
        if answer.refused:
            return fmt.status_html("none", "The documents don't cover this question.")
        took = time.perf_counter() - self.started
        return fmt.status_html("ok", f"Answered in {took:.1f} s{self._times()}")


class ChatHandlers:
    """The event handlers, callable directly (tests) or from Gradio."""

    def __init__(
        self,
        assistant: Assistant,
        users: UserStore | None = None,
        warmup: Warmup | None = None,
        priority: ChatPriority | None = None,
    ) -> None:
        self.assistant = assistant
        self.users = users
        self.warmup = warmup
        self.feedback = FeedbackLog(feedback_path(assistant.settings))
        self.priority = priority or ChatPriority()  # an evaluation run waits while a question is answered

    # --- access --------------------------------------------------------------------------------------
    def is_admin(self, request: gr.Request | None) -> bool:
        return self.users is None or self.users.is_admin(_username(request))

    def require_admin(self, request: gr.Request | None) -> None:
        if not self.is_admin(request):
            raise AccessError("Only an admin can add or remove documents.")

    # --- status --------------------------------------------------------------------------------------
    def model_ready(self) -> bool:
        return self.warmup.ready() if self.warmup is not None else self.assistant.model_loaded

    def model_error(self) -> str | None:
        return self.warmup.error() if self.warmup is not None else None

    def status(self) -> str:
        if self.model_ready():
            count = len(self.assistant.documents())
            return fmt.status_html("ok", f"Ready · {count} document{'s' if count != 1 else ''} indexed")
        error = self.model_error()
        if error:
            return fmt.status_html("bad", f"The language model could not be loaded: {error}")
        return fmt.status_html(
            "wait",
            "The language model is warming up (a few seconds; longer on the very first start). "
            "You can ask already: your question is answered as soon as it is ready.",
        )

    def tick(self) -> tuple[str, gr.Timer]:
        done = self.model_ready() or bool(self.model_error())
        return self.status(), gr.Timer(active=not done)

    # --- chat ----------------------------------------------------------------------------------------
    def _stream(self, question: str, history: list[dict[str, str]]) -> Iterator[Evidence | Token | Answer]:
        with self.priority.chatting():
            yield from self.assistant.stream(question, history)

    def respond(
        self, message: str, turns: list[dict[str, Any]] | None, request: gr.Request | None = None
    ) -> Iterator[tuple[list[dict[str, str]], list[dict[str, Any]], str, str]]:
        """Show the evidence as soon as it is chosen, stream the draft above it, then replace both with the
        checked answer, its quotes and its sources."""
        turns = list(turns or [])
        question = (message or "").strip()
        if not question:
            gr.Warning("Please type a question.")
            yield fmt.chat_messages(turns), turns, self.status(), message
            return
        started = time.perf_counter()
        status = (
            fmt.status_html("busy", "Answering…")
            if self.model_ready()
            else fmt.status_html("wait", "Waiting for the language model to warm up; your question is next…")
        )
        yield fmt.chat_messages(turns, (question, fmt.format_draft(""))), turns, status, ""
        progress = _Progress(started)
        try:
            answer: Answer | None = None
            for event in self._stream(question, fmt.plain_history(turns)):
                if isinstance(event, Answer):
                    answer = event
                    continue
                progress.seen(event)
                pending = (question, progress.display())
                yield fmt.chat_messages(turns, pending), turns, progress.status(self.model_ready()), ""
            if answer is None:
                raise AssistantError("The assistant ended without an answer. Please try again.")
        except AssistantError as err:
            gr.Warning(str(err))
            turns.append(fmt.error_turn(question, str(err)))
            yield fmt.chat_messages(turns), turns, fmt.status_html("bad", str(err)), ""
            return
        except Exception:
            log.exception("answering failed")
            turns.append(fmt.error_turn(question, UNEXPECTED))
            yield fmt.chat_messages(turns), turns, fmt.status_html("bad", UNEXPECTED), ""
            return
        payload = fmt.answer_payload(answer)
        turns.append(
            {
                "question": question,
                "answer": answer.text,
                "display": fmt.format_answer(answer),
                "refused": answer.refused,
                "citations": payload["citations"],
            }
        )
        yield fmt.chat_messages(turns), turns, progress.final(answer), ""

    def new_conversation(self) -> tuple[list[Any], list[Any], str, str]:
        return [], [], self.status(), ""

    def pick_example(self, data: gr.SelectData) -> str:
        value = data.value
        return str(value.get("text", "")) if isinstance(value, dict) else str(value)

    def api_chat(
        self,
        message: str,
        history: list[Any] | None = None,
        session: list[dict[str, str]] | None = None,
        request: gr.Request | None = None,
    ) -> Iterator[tuple[dict[str, Any], list[dict[str, str]]]]:
        """The ``/chat`` endpoint: streams ``{"evidence": ..., "evidence_citations": [...]}`` as soon as the
        evidence is chosen, then ``{"draft": ...}`` (with the evidence) as the model writes, and ends with the
        checked answer.

        Without ``history`` the conversation of this client session is used (and extended)."""
        try:
            previous = fmt.api_history(history) if history else list(session or [])
            draft = ""
            partial: dict[str, Any] = {}  # the evidence, once chosen, goes with every later draft
            for event in self._stream(message or "", previous):
                if isinstance(event, Evidence):
                    partial = fmt.evidence_payload(event)
                    yield {**partial, "done": False}, previous
                elif isinstance(event, Token):
                    draft += event.text
                    yield {**partial, "draft": draft, "done": False}, previous
                else:
                    kept = [*previous, {"role": "user", "content": event.question}]
                    kept.append({"role": "assistant", "content": event.text})
                    kept = kept[-_KEEP_MESSAGES:]
                    yield {**fmt.answer_payload(event), "done": True, "history": kept}, kept
                    return
        except (AssistantError, ValueError) as err:
            raise gr.Error(str(err), print_exception=False) from None
        except Exception:
            log.exception("API answer failed")
            raise gr.Error(UNEXPECTED, print_exception=False) from None

    # --- feedback ------------------------------------------------------------------------------------
    def rate(
        self,
        turns: list[dict[str, Any]] | None,
        comment: str,
        data: gr.LikeData,
        request: gr.Request | None = None,
    ) -> tuple[str, str, list[dict[str, Any]]]:
        turns = list(turns or [])
        index = data.index[0] if isinstance(data.index, list | tuple) else data.index
        rating = {True: "up", False: "down", "Like": "up", "Dislike": "down"}.get(data.liked)
        number = int(index) // 2
        if rating is None or not 0 <= number < len(turns) or turns[number].get("error"):
            return self.status(), comment, turns
        turn = dict(turns[number])
        earlier = [t["question"] for t in turns[:number] if not t.get("error")]
        turn["feedback_id"] = self.feedback.record(
            turn["question"],
            turn["answer"],
            rating,
            citations=turn.get("citations", []),
            refused=bool(turn.get("refused")),
            comment=comment or "",
            user=_username(request),
            history=earlier,
        )
        turns[number] = turn
        thanks = "Thanks: marked helpful." if rating == "up" else "Thanks: marked for the test questions."
        more = (
            " Your comment was saved with it."
            if (comment or "").strip()
            else " Add a comment below if you like."
        )
        return fmt.status_html("ok", thanks + more), "", turns

    def add_comment(
        self, turns: list[dict[str, Any]] | None, comment: str, request: gr.Request | None = None
    ) -> tuple[str, str]:
        rated = [t for t in (turns or []) if t.get("feedback_id")]
        if not (comment or "").strip():
            return fmt.status_html("none", "Type a comment first."), comment
        if not rated:
            note = "Rate an answer with thumbs up or down first; the comment goes with your last rating."
            return fmt.status_html("none", note), comment
        self.feedback.comment(rated[-1]["feedback_id"], comment.strip(), user=_username(request))
        return fmt.status_html("ok", "Comment saved with your last rating. Thank you!"), ""

    # --- documents -----------------------------------------------------------------------------------
    def documents(self) -> tuple[list[list[Any]], Any]:
        docs = self.assistant.documents()
        return fmt.documents_rows(docs), gr.Dropdown(choices=[d.source for d in docs], value=None)

    def upload(
        self,
        files: list[str] | None,
        replace: bool,
        progress: gr.Progress = gr.Progress(),  # noqa: B008  (Gradio's way to ask for a progress bar)
        request: gr.Request | None = None,
    ) -> tuple[str, list[list[Any]], Any, None]:
        """Save uploaded files into the corpus under safe names and index them, with a progress bar."""

        def save() -> str:
            self.require_admin(request)
            if not files:
                raise AssistantError("Choose one or more files first.")
            report = IngestReport()
            pairs: list[tuple[str, Path]] = []
            for file in files:
                path = Path(str(file))
                name = getattr(file, "orig_name", None) or path.name
                if replace and self.assistant.corpus_target(name).exists():
                    try:  # a replacement must be readable before it takes the old file's place
                        self.assistant.check_file(path, name)
                    except AssistantError as err:
                        target = self.assistant.corpus_target(name).name
                        report.outcomes.append(
                            FileOutcome(target, "failed", error=f"{err} (the old one is kept)")
                        )
                        continue
                pairs.append((name, path))

            def step(done: int, total: int, source: str) -> None:
                progress((done, total or 1), desc=f"Indexing {source}" if source else "Indexed", unit="files")

            progress(0, desc="Saving the files…")
            if pairs:
                added = self.assistant.add_files(pairs, overwrite=bool(replace), progress=step)
                report.outcomes.extend(added.outcomes)
            hint = "Tick “Replace documents with the same name” to replace it."
            return fmt.report_markdown(report, exists_hint=hint)

        message = self._documents_changed(save)
        rows, choices = self.documents()
        return message, rows, choices, None

    def remove(
        self, source: str | None, request: gr.Request | None = None
    ) -> tuple[str, list[list[Any]], Any]:

        def drop() -> str:
            self.require_admin(request)
            if not source:
                raise AssistantError("Choose a document to remove.")
            if not self.assistant.remove_document(source):
                raise AssistantError(f"No document named {source!r}.")
            return f"Removed **{fmt.text_to_markdown(source)}** (its file was moved to data/removed/)."

        message = self._documents_changed(drop)
        rows, choices = self.documents()
        return message, rows, choices

    def _documents_changed(self, change: Callable[[], str]) -> str:
        """Run an admin change to the corpus; any error becomes the message shown, never a traceback."""
        try:
            return change()
        except AssistantError as err:
            gr.Warning(str(err))
            return f"✗ {fmt.text_to_markdown(str(err))}"
        except Exception:
            log.exception("changing the documents failed")
            return f"✗ {UNEXPECTED}"

    # --- page load -----------------------------------------------------------------------------------
    def on_load(self, request: gr.Request | None = None) -> tuple[Any, ...]:
        name = _username(request)
        admin = self.is_admin(request)
        who = ""
        if self.users is not None:
            role = self.users.role(name) or "unknown"
            who = f"Signed in as **{fmt.text_to_markdown(name or '?')}** ({role}) · [Log out](/logout)"
        rows, choices = self.documents()
        done = self.model_ready() or bool(self.model_error())
        return (
            who,
            gr.Column(visible=admin),
            gr.Markdown(visible=not admin),
            rows,
            choices,
            self.status(),
            gr.Timer(active=not done),
        )


def build_ui(
    assistant: Assistant,
    users: UserStore | None = None,
    warmup: Warmup | None = None,
    runs: EvalRuns | None = None,
) -> gr.Blocks:
    """The page: a Chat tab (streamed answers with sources, feedback), a Documents tab and, for admins, an
    Evaluation tab (``runs``: the test question set's runs; default: the configured set)."""
    if runs is None:
        from assistant.factory import build_eval_runs

        runs = build_eval_runs(assistant)
    h = ChatHandlers(assistant, users, warmup, runs.priority)
    evals = EvalHandlers(runs, h.feedback, assistant, h.is_admin)
    # One embedded model answers one question at a time: the others wait in Gradio's queue, which shows
    # their place. A model server (llm_backend=openai) can take several at once.
    answer_limit: int | str = 1 if assistant.settings.llm_backend == "embedded" else "default"
    with gr.Blocks(title="Meeting assistant", analytics_enabled=False) as demo:
        with gr.Row(equal_height=True):
            gr.Markdown(
                "## Meeting assistant · U.S.–Japan leaders' meeting\n"
                "Answers come only from the documents. Each claim carries a number; the sources under "
                "the answer show the passage with the supporting words highlighted."
            )
            who = gr.Markdown(elem_id="ma-who")
        status = gr.Markdown(h.status(), elem_id="ma-status")
        timer = gr.Timer(1.0, active=True)
        turns = gr.State([])
        with gr.Tabs():
            with gr.Tab("Chat", id="chat"):
                chatbot = gr.Chatbot(
                    label="Conversation",
                    elem_id="ma-chat",
                    height=560,
                    examples=[{"text": q} for q in EXAMPLES],
                    placeholder="**Ask about the meeting.** Try one of these:",
                    feedback_options=("Like", "Dislike"),
                    latex_delimiters=[],
                    buttons=[],  # "copy" would copy the HTML of the sources panel
                )
                with gr.Row():
                    question = gr.Textbox(
                        placeholder="Ask a question about the documents…",
                        show_label=False,
                        scale=8,
                        elem_id="ma-question",
                        max_lines=4,
                    )
                    send = gr.Button("Send", variant="primary", scale=1, elem_id="ma-send")
                with gr.Row():
                    new = gr.Button("New conversation", size="sm", scale=0, elem_id="ma-new")
                    comment = gr.Textbox(
                        placeholder="Optional comment on the answer you rated (thumbs up or down)",
                        show_label=False,
                        scale=6,
                        elem_id="ma-comment",
                    )
                    comment_btn = gr.Button("Send comment", size="sm", scale=0)
            with gr.Tab("Documents", id="documents") as docs_tab:
                table = gr.Dataframe(
                    label="documents",
                    show_label=False,
                    headers=["Title", "Source", "Chunks", "Added"],
                    interactive=False,
                    elem_id="ma-docs",
                    wrap=True,
                )
                reader_note = gr.Markdown("Only an admin can add or remove documents.", visible=False)
                with gr.Column(visible=False, elem_id="ma-admin") as admin_col:
                    gr.Markdown("### Add documents (.txt .md .pdf .docx .html)")
                    files = gr.File(
                        file_count="multiple",
                        file_types=UPLOAD_TYPES,
                        label="Files to add",
                        height=160,
                        elem_id="ma-upload",
                    )
                    replace = gr.Checkbox(label="Replace documents with the same name", value=False)
                    upload_btn = gr.Button("Add to the corpus", variant="primary", elem_id="ma-add")
                    upload_result = gr.Markdown(elem_id="ma-upload-result", label="result")
                    gr.Markdown("### Remove a document")
                    with gr.Row():
                        remove_choice = gr.Dropdown(label="Document", choices=[], scale=4)
                        remove_btn = gr.Button("Remove", variant="stop", scale=1)
                    remove_result = gr.Markdown(label="result")
            quiet: dict[str, Any] = {"api_visibility": "private", "show_progress": "hidden"}
            _, eval_outputs = build_eval_tab(evals, quiet)
        with gr.Column(visible=False):  # the /chat API endpoint's own inputs and output
            api_message = gr.Textbox(label="message")
            api_history = gr.JSON(label="history")
            api_answer = gr.JSON(label="answer")
            api_session = gr.State([])
            api_trigger = gr.Button()

        chat_io: dict[str, Any] = {
            "inputs": [question, turns],
            "outputs": [chatbot, turns, status, question],
            "concurrency_id": "answer",
            "concurrency_limit": answer_limit,
            "show_progress_on": chatbot,  # the status line says what is going on
            "show_progress": "minimal",
        }
        for trigger in (send.click, question.submit):
            trigger(h.respond, **chat_io, api_visibility="undocumented")
        chatbot.example_select(h.pick_example, None, question, queue=False, **quiet).then(
            h.respond, **chat_io, api_visibility="private"
        )
        for reset in (new.click, chatbot.clear):
            reset(h.new_conversation, None, [chatbot, turns, status, question], **quiet)
        chatbot.like(h.rate, [turns, comment], [status, comment, turns], **quiet)
        comment_btn.click(h.add_comment, [turns, comment], [status, comment], **quiet)
        api_trigger.click(
            h.api_chat,
            [api_message, api_history, api_session],
            [api_answer, api_session],
            api_name="chat",
            api_description="Ask a question; the conversation of this client session is kept.",
            concurrency_id="answer",
            concurrency_limit=answer_limit,
        )
        docs_tab.select(h.documents, None, [table, remove_choice], **quiet)
        upload_btn.click(
            h.upload, [files, replace], [upload_result, table, remove_choice, files], api_name="upload"
        )
        remove_btn.click(h.remove, [remove_choice], [remove_result, table, remove_choice], api_name="remove")
        timer.tick(h.tick, None, [status, timer], queue=False, **quiet)
        demo.load(
            h.on_load, None, [who, admin_col, reader_note, table, remove_choice, status, timer], **quiet
        )
        demo.load(evals.on_load, None, eval_outputs, **quiet)
    return demo
