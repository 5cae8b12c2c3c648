"""Test-question-set runs from the web app: in the background, on the loaded model, one at a time.

Each run is kept under ``data_dir/eval-runs/<when>-<commit>/`` (``report.json``, ``report.html``, plots), so
any two runs can be compared later. Chat goes first: before each case the run waits until no chat question
is being answered (``ChatPriority``), and a question asked during a case stops that case's generation
(the embedded model's ``BACKGROUND`` hook): the case is asked again after the question.
"""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from assistant import eval_report
from assistant.errors import AssistantError, Preempted
from assistant.evalset import EvalCase, apply_gate, load_eval_set, load_thresholds
from assistant.evaluation import METRICS, CaseResult, EvalRun, run_case, summarise
from assistant.llm import BACKGROUND
from assistant.service import Assistant

ALL = "all"
FAILURES = "failures"  # the cases that failed in the latest run
CATEGORY = "category:"  # e.g. "category:unanswerable"


class ChatPriority:
    """Counts the chat questions being answered; an evaluation waits for none before each case."""

    def __init__(self) -> None:
        self._active = 0
        self._idle = threading.Condition()

    @contextmanager
    def chatting(self) -> Iterator[None]:
        with self._idle:
            self._active += 1
        try:
            yield
        finally:
            with self._idle:
                self._active -= 1
                self._idle.notify_all()

    def waiting(self) -> bool:
        """Is a person's question being answered (or waiting to be)?"""
        return self._active > 0

    def wait_idle(self, stop: threading.Event, poll: float = 0.2) -> None:
        with self._idle:
            while self._active and not stop.is_set():
                self._idle.wait(poll)


@dataclass
class RunStatus:
    running: bool = False
    selection: str = ALL
    done: int = 0
    total: int = 0
    current: str = ""  # the question being asked
    run_id: str | None = None  # set when the report is written
    cancelled: bool = False
    error: str | None = None
    failed_ids: list[str] = field(default_factory=list)
    preempted: int = 0  # cases cut short by a chat question and asked again


def _commit(folder: Path) -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=folder, capture_output=True, text=True, timeout=5
        )
    except (OSError, subprocess.SubprocessError):
        return "nogit"
    return out.stdout.strip() or "nogit"


class EvalRuns:
    """Start, follow, cancel and list the runs of the test question set."""

    def __init__(
        self,
        assistant: Assistant,
        questions: Path,
        runs_dir: Path,
        priority: ChatPriority,
        thresholds: Path | None = None,
    ) -> None:
        self.assistant = assistant
        self.questions = questions
        self.runs_dir = runs_dir
        self.priority = priority
        self.thresholds = thresholds or questions.parent / "thresholds.yaml"
        self._status = RunStatus()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # --- choosing the cases ------------------------------------------------------------------------
    def selections(self) -> list[tuple[str, str]]:
        """(label, value) of the sets staff can run: all, the last run's failures, each category."""
        cases = load_eval_set(self.questions)
        options = [(f"All questions ({len(cases)})", ALL)]
        latest = self.latest()
        if latest is not None:
            options.append((f"Failures of the last run ({len(_failed_ids(latest))})", FAILURES))
        for category in dict.fromkeys(c.category for c in cases):
            count = sum(c.category == category for c in cases)
            options.append((f"Category {category} ({count})", CATEGORY + category))
        return options

    def cases_for(self, selection: str) -> list[EvalCase]:
        cases = load_eval_set(self.questions)
        if selection == ALL:
            return cases
        if selection == FAILURES:
            latest = self.latest()
            if latest is None:
                raise AssistantError("There is no earlier run: run all questions first.")
            failed = _failed_ids(latest)
            return [c for c in cases if c.id in failed]
        if selection.startswith(CATEGORY):
            category = selection.removeprefix(CATEGORY)
            return [c for c in cases if c.category == category]
        raise AssistantError(f"Unknown question selection: {selection!r}")

    # --- running -----------------------------------------------------------------------------------
    def status(self) -> RunStatus:
        with self._lock:
            return RunStatus(**vars(self._status))

    def start(self, selection: str = ALL) -> int:
        """Start a run in the background; returns the number of cases. Raises if one is running."""
        cases = self.cases_for(selection)
        if not cases:
            raise AssistantError("No questions to run in that selection.")
        with self._lock:
            if self._status.running:
                raise AssistantError("A run is already going; cancel it or wait for it to finish.")
            self._stop.clear()
            self._status = RunStatus(running=True, selection=selection, total=len(cases))
        self._thread = threading.Thread(target=self._run, args=(cases,), name="eval-run", daemon=True)
        self._thread.start()
        return len(cases)

    def cancel(self) -> bool:
        with self._lock:
            running = self._status.running
        self._stop.set()
        return running

    def wait(self, timeout: float | None = None) -> RunStatus:
        if self._thread is not None:
            self._thread.join(timeout)
        return self.status()

    def _update(self, **changes: Any) -> None:
        with self._lock:
            for key, value in changes.items():
                setattr(self._status, key, value)

    def _run(self, cases: Sequence[EvalCase]) -> None:
        began = time.perf_counter()
        started_at = datetime.now(UTC).isoformat(timespec="seconds")
        results: list[CaseResult] = []
        BACKGROUND.set(self.priority.waiting)  # this thread's model calls give way to chat
        try:
            for case in cases:
                result = None
                while result is None:  # a case cut short by a chat question is asked again after it
                    self.priority.wait_idle(self._stop)
                    if self._stop.is_set():
                        self._update(running=False, cancelled=True, current="")
                        return
                    self._update(current=case.question)
                    try:
                        result = run_case(self.assistant, case)
                    except Preempted:
                        self._update(preempted=self.status().preempted + 1)
                results.append(result)
                self._update(done=len(results))
            run = EvalRun(results, summarise(results), time.perf_counter() - began, started_at)
            run_id = self._write(run, time.perf_counter() - began)
            failed = [r.case.id for r in results if not r.passed]
            self._update(running=False, run_id=run_id, current="", failed_ids=failed)
        except Exception as err:  # a run must end with a message, whatever went wrong
            self._update(running=False, error=str(err) or type(err).__name__, current="")

    def _write(self, run: EvalRun, seconds: float) -> str:
        gate = load_thresholds(self.thresholds, METRICS) if self.thresholds.is_file() else []
        data = eval_report.report_data(
            run,
            apply_gate(run.summary, gate),
            eval_report.settings_snapshot(self.assistant),
            self.questions,
            seconds,
        )
        commit = _commit(Path(__file__).resolve().parent)  # the code that answered
        data["commit"] = commit
        data["selection"] = self.status().selection
        stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
        run_id, again = f"{stamp}-{commit}", 1
        while (self.runs_dir / run_id).exists():  # two short runs within one second
            again += 1
            run_id = f"{stamp}-{commit}-{again}"
        previous = self.latest()
        comparison = eval_report.compare(previous, data) if previous else None
        eval_report.write_report(data, self.runs_dir / run_id, comparison)
        return run_id

    # --- earlier runs ------------------------------------------------------------------------------
    def _kept(self) -> Iterator[tuple[str, dict[str, Any]]]:
        """The kept runs, newest first, each report read only when it is reached."""
        if not self.runs_dir.is_dir():
            return
        for folder in sorted(self.runs_dir.iterdir(), reverse=True):
            path = folder / "report.json"
            if path.is_file():
                try:
                    yield folder.name, eval_report.load_report(path)
                except AssistantError:
                    continue  # a damaged report is skipped, not fatal

    def runs(self) -> list[tuple[str, dict[str, Any]]]:
        """Every kept run, newest first: (run id, its report)."""
        return list(self._kept())

    def latest(self) -> dict[str, Any] | None:
        """The newest readable report (the others are not read)."""
        return next((data for _, data in self._kept()), None)

    def report(self, run_id: str) -> dict[str, Any]:
        if not run_id or "/" in run_id or run_id.startswith("."):
            raise AssistantError("Choose a run.")
        path = self.runs_dir / run_id / "report.json"
        if not path.is_file():
            raise AssistantError(f"No run named {run_id!r}.")
        return eval_report.load_report(path)


def _failed_ids(report: dict[str, Any]) -> set[str]:
    return {c["id"] for c in report.get("cases", []) if not c.get("passed")}


def run_label(run_id: str, data: dict[str, Any]) -> str:
    """'2026-12-01 14:05 · a1b2c3d · 114 cases · key facts 0.90'."""
    when = str(data.get("started_at", ""))[:16].replace("T", " ")
    facts = data.get("summary", {}).get("key_fact_accuracy")
    cases = data.get("counts", {}).get("cases", "?")
    tail = f" · key facts {facts:.2f}" if isinstance(facts, int | float) else ""
    return f"{when} · {data.get('commit', run_id.rsplit('-', 1)[-1])} · {cases} cases{tail}"
