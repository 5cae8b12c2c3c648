"""The Evaluation tab (admins only): run the test question set, read and compare the reports, and turn a
thumbs-down answer into a test case. Thin: ``EvalRuns`` runs, ``eval_report`` renders, ``new_cases`` writes.
Every handler checks the role, so a reader gets neither the tab nor its API.
"""

from __future__ import annotations

import html
import io
import logging
from collections.abc import Callable
from typing import Any

import gradio as gr

from assistant import eval_report
from assistant.errors import AccessError, AssistantError
from assistant.eval_runs import EvalRuns, RunStatus, run_label
from assistant.evalset import load_eval_set
from assistant.feedback import FeedbackLog
from assistant.new_cases import append_case, case_entry, suggest_id
from assistant.service import Assistant

log = logging.getLogger(__name__)

ANSWERABLE = "Answerable: key facts and a gold passage"
REFUSE = "Should be refused"
CASE_HEADERS = ["Case", "Category", "Passed", "Failed checks", "Question"]
FEEDBACK_HEADERS = ["When", "User", "Question", "Comment"]
UNEXPECTED = "Something went wrong on the server (details are in its log)."


def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


def progress_html(status: RunStatus) -> str:
    """A progress bar with the question being asked, or how the last run ended."""
    if status.running:
        share = status.done / status.total if status.total else 0.0
        again = f" ({status.preempted} cases asked again after one)" if status.preempted else ""
        return (
            f'<div class="ma-eval-progress" data-state="running">'
            f'<progress max="{status.total}" value="{status.done}"></progress> '
            f"{status.done} of {status.total} ({share:.0%}) · asking: <i>{_e(status.current)}</i>"
            f"<div>Chat questions go first: the run pauses while one is being answered{again}.</div></div>"
        )
    if status.error:
        return f'<div class="ma-eval-progress" data-state="error">The run failed: {_e(status.error)}</div>'
    if status.cancelled:
        return (
            f'<div class="ma-eval-progress" data-state="cancelled">Cancelled after {status.done} of '
            f"{status.total} questions; nothing was saved.</div>"
        )
    if status.run_id:
        return (
            f'<div class="ma-eval-progress" data-state="done">Finished: {status.total} questions, '
            f"{len(status.failed_ids)} failed at least one check. The report is below.</div>"
        )
    return '<div class="ma-eval-progress" data-state="idle">No run yet in this session.</div>'


def _image(png: bytes) -> Any:
    from PIL import Image

    return Image.open(io.BytesIO(png))


class EvalHandlers:
    def __init__(
        self,
        runs: EvalRuns,
        feedback: FeedbackLog,
        assistant: Assistant,
        is_admin: Callable[[gr.Request | None], bool],
    ) -> None:
        self.runs = runs
        self.feedback = feedback
        self.assistant = assistant
        self.is_admin = is_admin

    def _admin(self, request: gr.Request | None) -> None:
        if not self.is_admin(request):
            raise AccessError("Only an admin can run and read evaluations.")

    @staticmethod
    def _fail(err: Exception) -> str:
        if isinstance(err, AccessError):  # a refusal for the API caller too, not a message in a page
            raise gr.Error(str(err), print_exception=False) from None
        if isinstance(err, AssistantError):
            gr.Warning(str(err))
            return f"✗ {err}"
        log.exception("evaluation tab")
        return f"✗ {UNEXPECTED}"

    # --- page load ---------------------------------------------------------------------------------
    def on_load(self, request: gr.Request | None = None) -> tuple[Any, ...]:
        if not self.is_admin(request):
            hidden = gr.Dropdown(choices=[], value=None)
            return gr.Tab(visible=False), hidden, hidden, hidden, "", []
        runs = self.runs.runs()
        choices = [(run_label(i, d), i) for i, d in runs]
        selections = self.runs.selections()
        return (
            gr.Tab(visible=True),
            gr.Dropdown(choices=selections, value=selections[0][1]),
            gr.Dropdown(choices=choices, value=choices[0][1] if choices else None),
            gr.Dropdown(choices=choices, value=choices[1][1] if len(choices) > 1 else None),
            progress_html(self.runs.status()),
            self._feedback_rows(),
        )

    def refresh(self, request: gr.Request | None = None) -> tuple[Any, list[list[str]]]:
        """On opening the tab: the selections (the last run's failures may be new) and the feedback."""
        if not self.is_admin(request):
            return gr.Dropdown(choices=[], value=None), []
        selections = self.runs.selections()
        return gr.Dropdown(choices=selections), self._feedback_rows()

    # --- running -----------------------------------------------------------------------------------
    def start(self, selection: str | None, request: gr.Request | None = None) -> tuple[str, gr.Timer]:
        try:
            self._admin(request)
            self.runs.start(selection or "all")
        except Exception as err:
            return self._fail(err), gr.Timer(active=False)
        return progress_html(self.runs.status()), gr.Timer(active=True)

    def cancel(self, request: gr.Request | None = None) -> str:
        try:
            self._admin(request)
        except AccessError as err:
            return self._fail(err)
        self.runs.cancel()
        status = self.runs.wait(timeout=0.5)
        return progress_html(status) if not status.running else "Cancelling after the current question…"

    def tick(self, request: gr.Request | None = None) -> tuple[Any, ...]:
        """Progress while a run goes; when it has finished, the new run is listed and shown."""
        status = self.runs.status()
        if not self.is_admin(request) or status.running:
            return progress_html(status), gr.Timer(active=status.running), gr.Dropdown(), gr.Dropdown()
        runs = self.runs.runs()
        choices = [(run_label(i, d), i) for i, d in runs]
        newest = choices[0][1] if choices else None
        earlier = choices[1][1] if len(choices) > 1 else None
        return (
            progress_html(status),
            gr.Timer(active=False),
            gr.Dropdown(choices=choices, value=newest),
            gr.Dropdown(choices=choices, value=earlier),
        )

    # --- reading a report --------------------------------------------------------------------------
    def show(
        self,
        run_id: str | None,
        compare_id: str | None,
        failures_only: bool,
        request: gr.Request | None = None,
    ) -> tuple[Any, ...]:
        empty = ("", None, None, "", [])
        if not run_id:
            return ("Run the questions to see a report here.", *empty[1:])
        try:
            self._admin(request)
            data = self.runs.report(run_id)
            comparison = ""
            if compare_id and compare_id != run_id:
                comparison = self._comparison(self.runs.report(compare_id), data, compare_id)
        except Exception as err:
            return (self._fail(err), *empty[1:])
        rows = [
            [
                c["id"],
                c["category"],
                "yes" if c.get("passed") else "no",
                ", ".join(k for k, v in c.get("checks", {}).items() if not v),
                c["question"],
            ]
            for c in data["cases"]
            if not failures_only or not c.get("passed")
        ]
        scores = _image(eval_report.plot_scores(data))
        latency = _image(eval_report.plot_latency(data))
        return eval_report.scores_html(data), scores, latency, comparison, rows

    @staticmethod
    def _comparison(previous: dict[str, Any], current: dict[str, Any], previous_id: str) -> str:
        result = eval_report.compare(previous, current)
        lines = [f"**Compared with {run_label(previous_id, previous)}**"]
        for title, items in eval_report.comparison_sections(result):
            listed = ", ".join(f"`{i}`" for i in items) if items else "none"
            lines.append(f"- {title}: {listed}")
        return "\n".join(lines)

    def case(self, run_id: str | None, evt: gr.SelectData, request: gr.Request | None = None) -> str:
        """The selected row in full: question, answer, citations, gold passages and the trace."""
        try:
            self._admin(request)
            data = self.runs.report(run_id or "")
            row = evt.row_value if evt.row_value else None
            case_id = row[0] if row else None
            found = next((c for c in data["cases"] if c["id"] == case_id), None)
            if found is None:
                return "Choose a question in the table."
            return eval_report.case_html(found)
        except Exception as err:
            return _e(self._fail(err))

    # --- thumbs-down to test case ------------------------------------------------------------------
    def _down(self) -> list[dict[str, Any]]:
        return [e for e in self.feedback.entries() if e.get("rating") == "down"]

    def _feedback_rows(self) -> list[list[str]]:
        return [[_when(e), e.get("user") or "", e["question"], e.get("comment", "")] for e in self._down()]

    def pick_feedback(self, evt: gr.SelectData, request: gr.Request | None = None) -> tuple[Any, ...]:
        """The chosen thumbs-down answer, with its sources offered as the gold passage."""
        try:
            self._admin(request)
            entry = self._down()[evt.index[0]]
        except Exception as err:
            return (self._fail(err), None, "", "", gr.Radio(choices=[]), [], gr.Column(visible=False))
        taken = {c.id for c in load_eval_set(self.runs.questions)}
        passages = [(c.get("source") or "", c.get("quote") or "") for c in entry.get("citations") or []]
        shown = (
            f"**Question:** {_md(entry['question'])}\n\n**The assistant said:** {_md(entry['answer'])}"
            + (f"\n\n**Comment:** {_md(entry['comment'])}" if entry.get("comment") else "")
        )
        return (
            shown,
            entry["id"],
            suggest_id(entry["question"], True, taken),
            entry["question"],
            gr.Radio(choices=_passage_choices(passages), value=None),
            passages,
            gr.Column(visible=True),
        )

    def search(
        self, query: str, passages: list[tuple[str, str]], request: gr.Request | None = None
    ) -> tuple[Any, list[tuple[str, str]]]:
        """Passages of the documents for ``query``, added to the choices for the gold passage."""
        try:
            self._admin(request)
            if not (query or "").strip():
                raise AssistantError("Type words from the passage you are looking for.")
            found = [(p.source, p.text) for p in self.assistant.search(query, 5)]
        except Exception as err:
            self._fail(err)
            return gr.Radio(), passages
        merged = list(dict.fromkeys([*found, *passages]))
        return gr.Radio(choices=_passage_choices(merged), value=0 if found else None), merged

    def save(
        self,
        feedback_id: str | None,
        question: str,
        kind: str,
        case_id: str,
        reference: str,
        key_facts: str,
        gold: int | None,
        passages: list[tuple[str, str]],
        request: gr.Request | None = None,
    ) -> tuple[str, Any]:
        """Validate the new case with the whole question set and append it (a backup is kept)."""
        try:
            self._admin(request)
            if not feedback_id:
                raise AssistantError("Choose a thumbs-down answer first.")
            answerable = kind != REFUSE
            source = quote = ""
            if answerable:
                if gold is None or not 0 <= int(gold) < len(passages):
                    raise AssistantError("Pick the gold passage among the sources, or search for it.")
                source, quote = passages[int(gold)]
            entry = case_entry(case_id, question, answerable, key_facts, reference, source, quote)
            case = append_case(self.runs.questions, entry)
        except Exception as err:
            return self._fail(err), gr.Dropdown()
        note = (
            f"✓ Added **{case.id}** to {self.runs.questions.name} (the previous file is kept as "
            f"{self.runs.questions.name}.bak). The next run includes it."
        )
        selections = self.runs.selections()
        return note, gr.Dropdown(choices=selections, value=selections[0][1])


def _when(entry: dict[str, Any]) -> str:
    return str(entry.get("time", ""))[:16].replace("T", " ")


def _md(text: str) -> str:
    return html.escape(" ".join(str(text).split()))


def _passage_choices(passages: list[tuple[str, str]]) -> list[tuple[str, int]]:
    return [(f"{source}: {' '.join(quote.split())[:220]}", i) for i, (source, quote) in enumerate(passages)]


def build_eval_tab(h: EvalHandlers, quiet: dict[str, Any]) -> tuple[gr.Tab, list[Any]]:
    """The tab's components and events (call inside ``gr.Tabs()``); returns the tab and the outputs of
    ``EvalHandlers.on_load``."""
    with gr.Tab("Evaluation", id="evaluation", visible=False, elem_id="ma-eval-tab") as tab:
        gr.Markdown(
            "Run the test question set against the documents indexed now, on the loaded model. "
            "Chat questions go first: the run pauses while one is answered."
        )
        with gr.Row():
            selection = gr.Dropdown(
                label="Questions", choices=[], scale=4, allow_custom_value=True, elem_id="ma-eval-selection"
            )
            run_btn = gr.Button("Run", variant="primary", scale=1, elem_id="ma-eval-run")
            cancel_btn = gr.Button("Cancel", variant="stop", scale=1, elem_id="ma-eval-cancel")
        progress = gr.HTML(elem_id="ma-eval-progress-box")
        timer = gr.Timer(1.0, active=False)
        gr.Markdown("### Report")
        with gr.Row():
            run_choice = gr.Dropdown(label="Run", choices=[], scale=1, elem_id="ma-eval-run-choice")
            compare_choice = gr.Dropdown(label="Compare with", choices=[], scale=1, elem_id="ma-eval-compare")
        scores = gr.HTML(elem_id="ma-eval-scores")
        with gr.Row():
            scores_img = gr.Image(label="Scores", type="pil", interactive=False, elem_id="ma-eval-plot")
            latency_img = gr.Image(label="Latency", type="pil", interactive=False)
        comparison = gr.Markdown(elem_id="ma-eval-comparison")
        failures_only = gr.Checkbox(label="Only questions that failed a check", value=False)
        cases = gr.Dataframe(
            headers=CASE_HEADERS, interactive=False, wrap=True, elem_id="ma-eval-cases", label="questions"
        )
        detail = gr.HTML("Choose a question in the table to see it in full.", elem_id="ma-eval-case")
        gr.Markdown("### From a thumbs-down answer to a test case")
        feedback = gr.Dataframe(
            headers=FEEDBACK_HEADERS,
            interactive=False,
            wrap=True,
            elem_id="ma-eval-feedback",
            label="feedback",
        )
        feedback_id = gr.State(None)
        passages = gr.State([])
        with gr.Column(visible=False, elem_id="ma-eval-editor") as editor:
            shown = gr.Markdown()
            question = gr.Textbox(label="Question", elem_id="ma-eval-question")
            kind = gr.Radio([ANSWERABLE, REFUSE], value=ANSWERABLE, label="Expected", elem_id="ma-eval-kind")
            case_id = gr.Textbox(label="Case id", elem_id="ma-eval-case-id")
            reference = gr.Textbox(label="Reference answer", elem_id="ma-eval-reference")
            key_facts = gr.Textbox(
                label="Key facts: one per line, alternatives separated by |", lines=3, elem_id="ma-eval-facts"
            )
            gold = gr.Radio(choices=[], label="Gold passage", type="value", elem_id="ma-eval-gold")
            with gr.Row():
                query = gr.Textbox(label="Search the documents for the gold passage", scale=4)
                search_btn = gr.Button("Search", scale=1)
            save_btn = gr.Button("Add to the question set", variant="primary", elem_id="ma-eval-save")
            saved = gr.Markdown(elem_id="ma-eval-saved")

    tab.select(h.refresh, None, [selection, feedback], **quiet)
    run_btn.click(h.start, [selection], [progress, timer], api_name="eval_start")
    cancel_btn.click(h.cancel, None, [progress], api_name="eval_cancel", queue=False)
    timer.tick(h.tick, None, [progress, timer, run_choice, compare_choice], queue=False, **quiet)
    report_inputs = [run_choice, compare_choice, failures_only]
    report_outputs = [scores, scores_img, latency_img, comparison, cases]
    for control in (run_choice, compare_choice, failures_only):
        control.change(h.show, report_inputs, report_outputs, **quiet)
    cases.select(h.case, [run_choice], [detail], **quiet)
    feedback.select(
        h.pick_feedback, None, [shown, feedback_id, case_id, question, gold, passages, editor], **quiet
    )
    search_btn.click(h.search, [query, passages], [gold, passages], **quiet)
    save_btn.click(
        h.save,
        [feedback_id, question, kind, case_id, reference, key_facts, gold, passages],
        [saved, selection],
        api_name="eval_add_case",
    )
    return tab, [tab, selection, run_choice, compare_choice, progress, feedback]
