"""Run the test question set through the chat chain and score it in code (no LLM judge needed).

Each case goes through ``Assistant.ask``, the same chain as the chat; a conversation's earlier turns are
asked first and passed as history. Scores: retrieval hit@1/3/k and MRR against the gold passages, key
facts, token F1 against the reference, refusals, citation precision/recall against the gold passages,
unsupported sentences, latency. An LLM-judged faithfulness score is added only when a judge is given.
"""

from __future__ import annotations

import os
import re
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from langchain_core.language_models import BaseChatModel
from langchain_core.output_parsers import StrOutputParser

from assistant.citations import is_refusal, split_sentences, strip_markers
from assistant.errors import AssistantError
from assistant.evalset import EvalCase, GoldContext, apply_gate, load_eval_set, load_thresholds
from assistant.prompts import PromptFile
from assistant.service import Assistant
from assistant.types import Answer, Citation, Passage

# summary metrics, in report order; for those in LOWER_IS_BETTER a smaller value is better
# fmt: off
METRICS = (
    "hit_at_1", "hit_at_3", "hit_at_k", "mrr", "context_recall", "key_fact_accuracy", "key_fact_pass_rate",
    "token_f1", "refusal_precision", "refusal_recall", "refusal_accuracy", "citation_precision",
    "citation_recall", "unsupported_rate", "faithfulness", "case_pass_rate", "errors",
    "first_token_p50_s", "first_token_p95_s", "total_p50_s", "total_p95_s",
)
# fmt: on
LOWER_IS_BETTER = frozenset(m for m in METRICS if m in ("unsupported_rate", "errors") or m.endswith("_s"))
Progress = Callable[[int, int, str], None]  # (cases done, cases in all, current case id)
_WORD = re.compile(r"\w+")


# --- scoring (pure functions on an Answer) -----------------------------------------------------------
def normalise(text: str) -> str:
    return " ".join(text.split()).lower()


def matches_gold(source: str, text: str, gold: GoldContext) -> bool:
    """A passage matches a gold context: same document, and the quote is in it (whitespace-normalised)."""
    same = source == gold.source or source.endswith("/" + gold.source)
    return same and normalise(gold.quote) in normalise(text)


def retrieval_scores(passages: Sequence[Passage], gold: Sequence[GoldContext]) -> dict[str, float]:
    ranks = [r for r, p in enumerate(passages, 1) if any(matches_gold(p.source, p.text, g) for g in gold)]
    first = ranks[0] if ranks else 0
    found = sum(any(matches_gold(p.source, p.text, g) for p in passages) for g in gold)
    return {
        "hit_at_1": float(first == 1),
        "hit_at_3": float(0 < first <= 3),
        "hit_at_k": float(first > 0),
        "reciprocal_rank": 1.0 / first if first else 0.0,
        "context_recall": found / len(gold) if gold else 0.0,
    }


def missing_facts(text: str, key_facts: Sequence[Sequence[str]]) -> list[list[str]]:
    """The fact groups none of whose alternatives is in the answer (case-insensitive, markers removed)."""
    padded = f" {normalise(strip_markers(text))} "
    return [list(group) for group in key_facts if not any(alt.lower() in padded for alt in group)]


def tokens(text: str) -> list[str]:
    return _WORD.findall(strip_markers(text).lower())


def token_f1(answer: str, reference: str) -> float:
    said, wanted = tokens(answer), tokens(reference)
    common = sum((Counter(said) & Counter(wanted)).values())
    if not common:
        return 0.0
    precision, recall = common / len(said), common / len(wanted)
    return 2 * precision * recall / (precision + recall)


def citation_scores(citations: Sequence[Citation], gold: Sequence[GoldContext]) -> tuple[float | None, float]:
    """(precision: share of citations on a gold passage, or None without citations; recall: gold cited)."""
    good = [c for c in citations if any(matches_gold(c.source, c.passage, g) for g in gold)]
    precision = len(good) / len(citations) if citations else None
    cited = sum(any(matches_gold(c.source, c.passage, g) for c in citations) for g in gold)
    return precision, cited / len(gold) if gold else 0.0


def draft_sentences(answer: Answer) -> int:
    """Sentences of the model's draft the citation check judged (0 when the model itself declined)."""
    if not answer.draft.strip() or is_refusal(answer.draft):
        return 0
    return sum(1 for s in split_sentences(answer.draft) if len(strip_markers(s).split()) >= 2)


@dataclass
class CaseResult:
    case: EvalCase
    answer: Answer | None
    setup_answers: list[str] = field(default_factory=list)
    error: str | None = None
    scores: dict[str, float | None] = field(default_factory=dict)
    checks: dict[str, bool] = field(default_factory=dict)  # pass/fail per metric that applies
    missing: list[list[str]] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.error is None and all(self.checks.values())


def score_case(case: EvalCase, answer: Answer, faithfulness: float | None = None) -> CaseResult:
    result = CaseResult(case, answer)
    scores, checks = result.scores, result.checks
    checks["refusal"] = answer.refused == (not case.answerable)
    sentences = draft_sentences(answer)
    scores.update(
        unsupported=float(len(answer.unsupported)) if sentences else None,
        draft_sentences=float(sentences),
        first_token_s=answer.timings.get("first_token_s"),
        total_s=answer.timings.get("total_s"),
        faithfulness=faithfulness,
    )
    if sentences:
        checks["supported"] = not answer.unsupported
    if not case.answerable:
        return result
    scores.update(retrieval_scores(answer.passages, case.reference_contexts))
    result.missing = missing_facts(answer.text, case.key_facts)
    scores["key_facts"] = 1 - len(result.missing) / len(case.key_facts)
    scores["token_f1"] = token_f1(answer.text, case.reference)
    precision, recall = citation_scores(answer.citations, case.reference_contexts)
    scores.update(citation_precision=precision, citation_recall=recall)
    checks.update(retrieval=scores["hit_at_3"] == 1.0, key_facts=not result.missing)
    if not answer.refused:
        checks["citations"] = precision == 1.0
    return result


# --- aggregation and the gate ------------------------------------------------------------------------
def _mean(values: Iterable[float | None]) -> float | None:
    kept = [v for v in values if v is not None]
    return sum(kept) / len(kept) if kept else None


def _ratio(hits: int, total: int) -> float | None:
    return hits / total if total else None


def _percentile(values: Iterable[float | None], q: float) -> float | None:
    kept = [v for v in values if v is not None]
    return float(np.percentile(kept, q)) if kept else None


def summarise(results: Sequence[CaseResult]) -> dict[str, float | None]:
    done = [r for r in results if r.answer is not None]
    gold = [r for r in done if r.case.answerable]
    answered = [r for r in gold if r.answer is not None and not r.answer.refused]
    refused = [r for r in done if r.answer is not None and r.answer.refused]
    expected = [r for r in done if not r.case.answerable]
    both = sum(1 for r in refused if not r.case.answerable)

    def mean(key: str, rows: Sequence[CaseResult] = gold) -> float | None:
        return _mean(r.scores.get(key) for r in rows)

    unsupported = sum(r.scores["unsupported"] or 0 for r in done)
    sentences = sum(r.scores["draft_sentences"] or 0 for r in done)
    return {
        "hit_at_1": mean("hit_at_1"),
        "hit_at_3": mean("hit_at_3"),
        "hit_at_k": mean("hit_at_k"),
        "mrr": mean("reciprocal_rank"),
        "context_recall": mean("context_recall"),
        "key_fact_accuracy": mean("key_facts"),
        "key_fact_pass_rate": _mean(float(r.checks["key_facts"]) for r in gold),
        "token_f1": mean("token_f1"),
        "refusal_precision": _ratio(both, len(refused)),
        "refusal_recall": _ratio(both, len(expected)),
        "refusal_accuracy": _ratio(sum(r.checks["refusal"] for r in done), len(done)),
        "citation_precision": mean("citation_precision", answered),
        "citation_recall": mean("citation_recall"),
        "unsupported_rate": _ratio(int(unsupported), int(sentences)),
        "faithfulness": mean("faithfulness", done),
        "case_pass_rate": _ratio(sum(r.passed for r in results), len(results)),
        "errors": float(len(results) - len(done)),
        "first_token_p50_s": _percentile((r.scores["first_token_s"] for r in done), 50),
        "first_token_p95_s": _percentile((r.scores["first_token_s"] for r in done), 95),
        "total_p50_s": _percentile((r.scores["total_s"] for r in done), 50),
        "total_p95_s": _percentile((r.scores["total_s"] for r in done), 95),
    }


# --- running -----------------------------------------------------------------------------------------
@dataclass
class EvalRun:
    results: list[CaseResult]
    summary: dict[str, float | None]
    seconds: float
    started_at: str


class FaithfulnessJudge:
    """Asks a judge model whether each answer sentence is supported by the retrieved passages."""

    def __init__(self, model: BaseChatModel, prompt: PromptFile) -> None:
        self.chain = prompt.template() | model | StrOutputParser()
        self.failures: list[str] = []

    def score(self, answer: Answer) -> float | None:
        statements = [strip_markers(s) for s in split_sentences(answer.text)]
        if answer.refused or not statements:
            return None
        try:
            raw = self.chain.invoke(
                {
                    "passages": "\n\n".join(f"[{i}] {p.text}" for i, p in enumerate(answer.passages, 1)),
                    "statements": "\n".join(f"{i}. {s}" for i, s in enumerate(statements, 1)),
                }
            )
        except Exception as err:  # a judge that is down must not lose a run of several minutes
            self.failures.append(f"{type(err).__name__}: {err}")
            return None
        verdicts = {
            int(n): v.upper() == "YES"
            for n, v in re.findall(r"^\W*(\d+)\W+(YES|NO)\b", raw, re.MULTILINE | re.IGNORECASE)
        }
        if not verdicts:
            return None
        return sum(verdicts.get(i, False) for i in range(1, len(statements) + 1)) / len(statements)


def run_case(assistant: Assistant, case: EvalCase, judge: FaithfulnessJudge | None = None) -> CaseResult:
    history: list[dict[str, str]] = []
    setup: list[str] = []
    try:
        for turn in case.setup:
            earlier = assistant.ask(turn, history)
            setup.append(earlier.text)
            history += [{"role": "user", "content": turn}, {"role": "assistant", "content": earlier.text}]
        answer = assistant.ask(case.question, history)
    except AssistantError as err:
        return CaseResult(case, None, setup, error=str(err), checks={"error": False})
    result = score_case(case, answer, judge.score(answer) if judge else None)
    result.setup_answers = setup
    return result


def run_eval(
    assistant: Assistant,
    cases: Sequence[EvalCase],
    progress: Progress | None = None,
    judge: FaithfulnessJudge | None = None,
) -> EvalRun:
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    began = time.perf_counter()
    results: list[CaseResult] = []
    for done, case in enumerate(cases, start=1):
        results.append(run_case(assistant, case, judge))
        if progress:
            progress(done, len(cases), case.id)
    return EvalRun(results, summarise(results), time.perf_counter() - began, started_at)


def judge_from_env(assistant: Assistant) -> FaithfulnessJudge | None:
    """The optional judge: an OpenAI-compatible server at ASSISTANT_EVAL_JUDGE_URL (off when unset)."""
    url = os.environ.get("ASSISTANT_EVAL_JUDGE_URL", "").strip()
    if not url:
        return None
    from assistant.llm import load_openai
    from assistant.prompts import load_prompt

    settings = assistant.settings.model_copy(
        update={
            "llm_base_url": url,
            "llm_model": os.environ.get("ASSISTANT_EVAL_JUDGE_MODEL", "local"),
            "temperature": 0.0,
        }
    )
    prompt = load_prompt(settings.resolved_prompts_dir(), "judge_faithfulness")
    return FaithfulnessJudge(load_openai(settings), prompt)


def run_eval_command(
    questions: Path, out: Path, compare: Path | None = None, thresholds: Path | None = None
) -> int:
    """``assistant eval``: index the corpus, run and score every case, write the report, apply the gate."""
    from tqdm import tqdm

    from assistant import eval_report
    from assistant.config import Settings
    from assistant.factory import build_assistant

    began = time.perf_counter()
    cases = load_eval_set(questions)
    gate_file = thresholds or questions.parent / "thresholds.yaml"
    gate = load_thresholds(gate_file, METRICS) if thresholds or gate_file.is_file() else []
    previous = eval_report.load_report(compare) if compare else None
    print(f"{len(cases)} cases from {questions}; loading the models and the index...", file=sys.stderr)
    assistant = build_assistant(Settings())
    print(f"Ingest: {assistant.ingest().summary()}", file=sys.stderr)
    if not assistant.documents():
        raise AssistantError(
            f"No documents are indexed from {assistant.settings.corpus_dir}: nothing to ask."
        )
    assistant.chain  # noqa: B018  (loads the language model before the clock of the first case starts)
    judge = judge_from_env(assistant)
    with tqdm(total=len(cases), desc="Evaluating", unit="case", file=sys.stderr) as bar:

        def progress(done: int, total: int, case_id: str) -> None:
            bar.set_postfix_str(case_id)
            bar.update(done - bar.n)

        run = run_eval(assistant, cases, progress, judge)
    if judge and judge.failures:
        print(f"The judge failed {len(judge.failures)} times, e.g. {judge.failures[0]}", file=sys.stderr)
    if not gate:
        print(f"No gate: no thresholds in {gate_file}.", file=sys.stderr)
    gate_results = apply_gate(run.summary, gate)
    data = eval_report.report_data(
        run, gate_results, eval_report.settings_snapshot(assistant), questions, time.perf_counter() - began
    )
    comparison = eval_report.compare(previous, data) if previous else None
    paths = eval_report.write_report(data, out, comparison)
    print(eval_report.format_summary(data))
    if comparison:
        print(eval_report.format_comparison(comparison))
    print(f"Report: {paths['html']} (JSON: {paths['json']}, RAGAS: {paths['ragas']})")
    return 0 if data["gate"]["passed"] else 1
