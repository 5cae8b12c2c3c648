"""Evaluation from the web app: runs in the background (chat first, cancellable, kept for comparison),
the report in the page, and a thumbs-down answer turned into a case of the question set. Real Chroma and
embeddings; a fake LLM (the model is not under test here). The real browser is in test_browser.py."""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gradio as gr
import pytest
import yaml

from assistant.auth import UserStore
from assistant.errors import EvalSetError
from assistant.eval_runs import ALL, CATEGORY, FAILURES, ChatPriority, EvalRuns
from assistant.evalset import load_eval_set
from assistant.evaluation import run_eval
from assistant.feedback import FeedbackLog, feedback_path
from assistant.new_cases import append_case, case_entry, parse_key_facts
from assistant.service import Assistant
from assistant.ui_eval import REFUSE, EvalHandlers
from tests.conftest import ROOT

THREE = ROOT / "tests" / "data" / "three-questions.yaml"
DRAFTS = ["AI and semiconductors [1].", "Shigeru Ishiba [1].", "NOT IN DOCUMENTS"]


@pytest.fixture
def questions(tmp_path: Path) -> Path:
    path = tmp_path / "eval" / "questions.yaml"
    path.parent.mkdir()
    shutil.copy(THREE, path)
    shutil.copy(ROOT / "eval" / "thresholds.yaml", path.parent / "thresholds.yaml")
    return path


@pytest.fixture
def answering(make_assistant: Callable[..., Assistant], seed_corpus: Path) -> Callable[[], Assistant]:
    def make() -> Assistant:
        assistant = make_assistant(responses=DRAFTS * 4)
        assistant.ingest()
        return assistant

    return make


def runs_for(assistant: Assistant, questions: Path) -> EvalRuns:
    return EvalRuns(assistant, questions, assistant.settings.data_dir / "eval-runs", ChatPriority())


def test_a_run_in_the_background_scores_like_assistant_eval_and_is_kept(
    answering: Callable[[], Assistant], questions: Path
) -> None:
    runs = runs_for(answering(), questions)
    assert runs.start(ALL) == 3
    status = runs.wait(timeout=300)
    assert not status.running and status.done == 3 and status.error is None, status
    assert status.run_id and (runs.runs_dir / status.run_id / "report.html").is_file()
    kept = runs.report(status.run_id)
    direct = run_eval(answering(), load_eval_set(questions))  # what `assistant eval` computes
    for metric in ("key_fact_accuracy", "refusal_accuracy", "citation_precision", "hit_at_3"):
        assert kept["summary"][metric] == pytest.approx(direct.summary[metric]), metric
    assert status.failed_ids == ["ans-abe-01"]  # "Shigeru Ishiba" lacks Abe
    labels = dict((v, k) for k, v in runs.selections())
    assert labels[FAILURES].startswith("Failures of the last run (1)")
    assert [c.id for c in runs.cases_for(FAILURES)] == ["ans-abe-01"]
    assert [c.id for c in runs.cases_for(CATEGORY + "unanswerable")] == ["unans-date-01"]


def test_a_run_waits_while_a_chat_question_is_answered_and_can_be_cancelled(
    answering: Callable[[], Assistant], questions: Path
) -> None:
    runs = runs_for(answering(), questions)
    with runs.priority.chatting():
        runs.start(ALL)
        time.sleep(1.5)
        assert runs.status().done == 0  # chat goes first
        assert runs.cancel()
    status = runs.wait(timeout=30)
    assert status.cancelled and not status.running and status.run_id is None
    assert not list(runs.runs_dir.glob("*/report.json"))  # a cancelled run leaves nothing behind


def test_chat_priority_releases_the_run_when_the_last_question_ends() -> None:
    priority, stop, released = ChatPriority(), threading.Event(), threading.Event()
    with priority.chatting():
        waiter = threading.Thread(target=lambda: (priority.wait_idle(stop), released.set()))
        waiter.start()
        time.sleep(0.3)
        assert not released.is_set()
    assert released.wait(5)


def test_a_new_case_is_validated_appended_and_the_old_file_backed_up(questions: Path) -> None:
    before = questions.read_text()
    entry = case_entry(
        "ans-fb-cyber-01",
        "Is cybersecurity on the agenda?",
        True,
        "cyber\nsecurity | protect",
        "Yes: bolstering cybersecurity capabilities.",
        "meeting-article.md",
        "This entails ongoing collaboration to bolster cybersecurity capabilities",
    )
    case = append_case(questions, entry)
    assert case.id == "ans-fb-cyber-01" and case.key_facts == (("cyber",), ("security", "protect"))
    assert questions.read_text().startswith(before)  # comments and layout kept
    assert (questions.parent / "questions.yaml.bak").read_text() == before
    assert [c.id for c in load_eval_set(questions)][-1] == "ans-fb-cyber-01"


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (case_entry("ans-tech-01", "Again?", False), "used by an earlier case"),
        (case_entry("ans-x-01", "What?", True, "", "ref", "a.md", "q"), "key_facts"),
        (case_entry("", "What?", False), "id"),
    ],
)
def test_a_bad_case_is_refused_with_a_clear_message_and_nothing_is_lost(
    questions: Path, entry: dict[str, Any], message: str
) -> None:
    before = questions.read_text()
    with pytest.raises(EvalSetError, match=message) as caught:
        append_case(questions, entry)
    assert "questions.yaml" in str(caught.value) and ".new" not in str(caught.value)
    assert questions.read_text() == before
    assert not list(questions.parent.glob(".*.new"))


def test_key_facts_are_one_per_line_with_alternatives() -> None:
    assert parse_key_facts("guarantee | commitment\n\n maintain|keep \n") == [
        ["guarantee", "commitment"],
        ["maintain", "keep"],
    ]


# --- the handlers ---------------------------------------------------------------------------------------
class Select:
    """What Gradio passes to a .select handler."""

    def __init__(self, index: list[int], row: list[Any] | None = None) -> None:
        self.index, self.row_value = index, row


def request_as(name: str) -> Any:
    return type("Request", (), {"username": name})()


def handlers(assistant: Assistant, questions: Path, users: UserStore) -> EvalHandlers:
    feedback = FeedbackLog(feedback_path(assistant.settings))

    def is_admin(request: Any) -> bool:
        return users.is_admin(getattr(request, "username", None))

    return EvalHandlers(runs_for(assistant, questions), feedback, assistant, is_admin)


def test_a_reader_gets_neither_the_tab_nor_its_api(
    answering: Callable[[], Assistant], questions: Path, users: UserStore
) -> None:
    h = handlers(answering(), questions, users)
    reader = request_as("rob")
    tab = h.on_load(reader)[0]
    assert tab.visible is False
    calls = [
        lambda: h.start(ALL, reader),
        lambda: h.cancel(reader),
        lambda: h.show("any", None, False, reader),
        lambda: h.search("Abe", [], reader),
        lambda: h.save("x", "q", REFUSE, "unans-x-01", "", "", None, [], reader),
    ]
    for call in calls:
        with pytest.raises(gr.Error, match="Only an admin"):
            call()
    assert not h.runs.status().running and "unans-x-01" not in questions.read_text()
    assert h.on_load(request_as("ann"))[0].visible is True


def test_an_admin_runs_reads_compares_and_turns_a_thumbs_down_into_a_case(
    answering: Callable[[], Assistant], questions: Path, users: UserStore
) -> None:
    assistant = answering()
    h, admin = handlers(assistant, questions, users), request_as("ann")
    for _ in range(2):  # two runs, to compare
        h.start(ALL, admin)
        assert h.runs.wait(timeout=300).run_id
    progress, timer, run_choice, compare_choice = h.tick(admin)
    assert 'data-state="done"' in progress and timer.active is False
    newest, earlier = run_choice.value, compare_choice.value
    assert newest and earlier and newest != earlier
    scores, plot, _, comparison, rows = h.show(newest, earlier, True, admin)
    assert "key_fact_accuracy" in scores and "target" in scores and plot is not None
    assert "Compared with" in comparison
    assert [r[0] for r in rows] == ["ans-abe-01"]  # failures only
    detail = h.case(newest, Select([0, 0], rows[0]), admin)
    assert "Shinzo Abe" in detail and "Which former prime minister" in detail  # gold passage, question

    answer = assistant.ask("Which former prime minister is mentioned?")
    cites = [{"number": c.number, "source": c.source, "quote": c.quote} for c in answer.citations]
    h.feedback.record(answer.question, answer.text, "down", cites, comment="wrong PM", user="ann")
    shown, feedback_id, case_id, question, _, passages, editor = h.pick_feedback(Select([0, 0]), admin)
    assert "wrong PM" in shown and editor.visible is True and case_id.startswith("ans-fb-which-former")
    _, passages = h.search("former Prime Minister Shinzo Abe", passages, admin)
    assert any("Shinzo Abe" in q for _, q in passages)
    pick = next(i for i, (_, q) in enumerate(passages) if "Shinzo Abe" in q)
    saved, _ = h.save(feedback_id, question, "", case_id, "Shinzo Abe.", "abe", pick, passages, admin)
    assert saved.startswith("✓"), saved
    added = yaml.safe_load(questions.read_text())[-1]
    assert added["id"] == case_id and added["key_facts"] == [["abe"]]
    assert "Shinzo Abe" in added["reference_contexts"][0]["quote"]
    assert [c.id for c in h.runs.cases_for(ALL)][-1] == case_id  # the next run includes it


def test_gradio_builds_the_page_with_the_tab(seeded: Assistant, questions: Path) -> None:
    from assistant.ui import build_ui

    demo = build_ui(seeded, runs=runs_for(seeded, questions))
    assert isinstance(demo, gr.Blocks)
    assert "eval_start" in str(demo.config)


class SlowServer:
    """Stands in for ``xllamacpp.Server``: streams ten words, a tenth of a second each."""

    def __init__(self) -> None:
        self.generating = threading.Event()

    def handle_chat_completions(self, request: dict[str, Any], callback: Any = None) -> Any:
        if not request.get("stream"):
            return {"choices": [{"message": {"content": "Done."}}]}
        self.generating.set()
        for word in ("AI ", "and ", "semiconductors ", "[1]. ", *["More "] * 6):
            time.sleep(0.1)
            if callback({"choices": [{"delta": {"content": word}}]}):
                return None
        return None


def test_a_chat_question_stops_the_case_being_generated_which_is_asked_again_after_it(
    make_assistant: Callable[..., Assistant], seed_corpus: Path, questions: Path
) -> None:
    from assistant.llm import EmbeddedChatModel, Engine

    llama = SlowServer()
    assistant = make_assistant(chat_model=EmbeddedChatModel(engine=Engine(llama)))
    assistant.ingest()
    runs = runs_for(assistant, questions)
    runs.start(CATEGORY + "answerable")
    assert llama.generating.wait(60)  # the first case is generating now
    with runs.priority.chatting():
        started = time.monotonic()
        answer = assistant.ask("Which technologies were named for joint ventures?")
        assert time.monotonic() - started < 5  # it did not wait for the case's ten words
    status = runs.wait(timeout=120)
    assert status.preempted >= 1 and status.done == 2 and status.run_id, status
    assert "semiconductors" in answer.draft
