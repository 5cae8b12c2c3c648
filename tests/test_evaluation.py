"""Scoring on hand-built answers (each metric can fail), runs through the real chain with fake models,
the `assistant eval` command and its gate, and one end-to-end run with the real model."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from langchain_core.language_models import BaseChatModel
from langchain_core.language_models.fake_chat_models import FakeListChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import Field

from assistant import cli
from assistant.evalset import EvalCase, GoldContext, load_eval_set
from assistant.evaluation import (
    FaithfulnessJudge,
    citation_scores,
    judge_from_env,
    matches_gold,
    missing_facts,
    retrieval_scores,
    run_eval,
    score_case,
    summarise,
    token_f1,
)
from assistant.prompts import load_prompt
from assistant.types import Answer, Citation, Passage
from tests.conftest import AssistantFactory

ROOT = Path(__file__).resolve().parent.parent
SOURCE = "meeting-article.md"
TECH = "promote joint ventures in critical technologies such as AI and semiconductors."
KOREA = "The prospect of trilateral meetings involving Japan and South Korea also remains a focal point."
OTHER = "Further discussions are anticipated on practicing joint military exercises."
GOLD = (GoldContext(SOURCE, "such as AI  and\nsemiconductors"),)


def passage(text: str, source: str = SOURCE, score: float = 0.5) -> Passage:
    return Passage(f"id-{hash(text)}", text, source, "Meeting", 0, 0, len(text), score)


def cite(number: int, p: Passage) -> Citation:
    return Citation(number, p.chunk_id, p.source, p.title, p.start, p.end, p.text, p.text)


def answer(text: str, passages: list[Passage], cited: list[int] = (), **kw: Any) -> Answer:  # type: ignore[assignment]
    citations = [cite(n + 1, passages[i]) for n, i in enumerate(cited)]
    kw.setdefault("draft", text)
    kw.setdefault("timings", {"first_token_s": 1.0, "total_s": 2.0})
    return Answer("q", "q", text, citations=citations, passages=passages, **kw)


TECH_CASE = EvalCase(
    "ans-tech", "answerable", "Which technologies?", True, reference="AI and semiconductors.",
    key_facts=((" ai ", " ai.", "artificial intelligence"), ("semiconductor", "chip")),
    reference_contexts=GOLD,
)  # fmt: skip
TRAP = EvalCase("unans-date", "unanswerable", "When?", False)


# --- scoring -----------------------------------------------------------------------------------------
def test_a_gold_passage_needs_the_same_source_and_the_quote_whitespace_normalised() -> None:
    assert matches_gold(SOURCE, TECH, GOLD[0])
    assert matches_gold("sub/meeting-article.md", TECH, GOLD[0])
    assert not matches_gold("other.md", TECH, GOLD[0])
    assert not matches_gold(SOURCE, OTHER, GOLD[0])


def test_retrieval_ranks_hits_and_mrr() -> None:
    second = retrieval_scores([passage(OTHER), passage(TECH)], GOLD)
    assert second == {
        "hit_at_1": 0.0, "hit_at_3": 1.0, "hit_at_k": 1.0, "reciprocal_rank": 0.5, "context_recall": 1.0,
    }  # fmt: skip
    fourth = retrieval_scores([passage(OTHER)] * 3 + [passage(TECH)], GOLD)
    assert (fourth["hit_at_3"], fourth["hit_at_k"], fourth["reciprocal_rank"]) == (0.0, 1.0, 0.25)
    assert retrieval_scores([passage(OTHER)], GOLD)["hit_at_k"] == 0.0
    two_gold = (*GOLD, GoldContext(SOURCE, "South Korea"))
    assert retrieval_scores([passage(TECH)], two_gold)["context_recall"] == 0.5


def test_key_facts_match_case_insensitively_without_markers_and_keep_their_spaces() -> None:
    facts = TECH_CASE.key_facts
    assert missing_facts("Joint ventures in AI [1] and chips [1].", facts) == []
    assert missing_facts("They named AI[2].", facts) == [["semiconductor", "chip"]]  # " ai." at the end
    assert missing_facts("AI is named first.", facts[:1]) == []  # padded at the start
    assert missing_facts("He said they maintain semiconductors.", facts) == [list(facts[0])]


def test_token_f1_ignores_markers_and_case() -> None:
    assert token_f1("AI and Semiconductors [1].", "AI and semiconductors.") == 1.0
    assert token_f1("Nothing alike.", "AI and semiconductors.") == 0.0
    assert 0 < token_f1("AI only", "AI and semiconductors") < 1


def test_citation_precision_and_recall_against_gold() -> None:
    tech, other = passage(TECH), passage(OTHER)
    assert citation_scores([cite(1, tech)], GOLD) == (1.0, 1.0)
    assert citation_scores([cite(1, tech), cite(2, other)], GOLD) == (0.5, 1.0)
    assert citation_scores([cite(1, other)], GOLD) == (0.0, 0.0)
    assert citation_scores([], GOLD) == (None, 0.0)


def test_a_good_answer_passes_every_check() -> None:
    result = score_case(
        TECH_CASE, answer("Joint ventures cover AI and semiconductors [1].", [passage(TECH)], [0])
    )
    assert result.passed, result.checks
    assert set(result.checks) == {"refusal", "supported", "retrieval", "key_facts", "citations"}
    assert result.scores["key_facts"] == 1.0 and result.scores["citation_precision"] == 1.0


@pytest.mark.parametrize(
    ("built", "failing"),
    [
        (answer("Joint ventures cover AI [1].", [passage(TECH)], [0]), {"key_facts"}),
        (answer("AI and semiconductors [1].", [passage(OTHER), passage(TECH)], [0]), {"citations"}),
        (answer("AI and chips [1].", [passage(OTHER)] * 3 + [passage(TECH)], [3]), {"retrieval"}),
        (answer("AI and chips [1].", [passage(TECH)], [0], unsupported=["It was sunny."]), {"supported"}),
        (
            answer("The documents don't say.", [passage(TECH)], refused=True, draft="NOT IN DOCUMENTS"),
            {"refusal", "key_facts"},
        ),
    ],
)
def test_each_check_can_fail(built: Answer, failing: set[str]) -> None:
    result = score_case(TECH_CASE, built)
    assert {k for k, ok in result.checks.items() if not ok} == failing
    assert not result.passed


def test_an_unanswerable_case_must_be_refused() -> None:
    assert score_case(TRAP, answer("NOT IN DOCUMENTS", [], refused=True, draft="NOT IN DOCUMENTS")).passed
    invented = score_case(TRAP, answer("It was on 7 February [1].", [passage(TECH)], [0]))
    assert invented.checks == {"refusal": False, "supported": True}


def test_the_summary_counts_refusals_rates_and_latency() -> None:
    good = answer("AI and semiconductors [1].", [passage(TECH)], [0])
    wrong = answer(
        "AI is named [1]. Also chips [2].", [passage(TECH), passage(OTHER)], [0, 1], unsupported=["x y"]
    )
    declined = answer(
        "No.", [passage(TECH)], refused=True, draft="NOT IN DOCUMENTS", timings={"total_s": 9.0}
    )
    results = [
        score_case(TECH_CASE, good),
        score_case(TECH_CASE, wrong),
        score_case(TECH_CASE, declined),  # refused an answerable question: a false refusal
        score_case(TRAP, declined),  # a right refusal
        score_case(TRAP, good),  # answered a trap: a missed refusal
    ]
    summary = summarise(results)
    assert summary["refusal_precision"] == 0.5 and summary["refusal_recall"] == 0.5
    assert summary["refusal_accuracy"] == pytest.approx(3 / 5)
    assert summary["key_fact_accuracy"] == pytest.approx((1 + 1 + 0) / 3)
    assert summary["citation_precision"] == pytest.approx((1 + 0.5) / 2)  # answered answerable cases only
    assert summary["citation_recall"] == pytest.approx((1 + 1 + 0) / 3)
    assert summary["unsupported_rate"] == pytest.approx(1 / 4)  # 1 of 4 draft sentences (refusals skipped)
    assert summary["first_token_p50_s"] == 1.0 and summary["total_p95_s"] == pytest.approx(9.0)
    assert summary["case_pass_rate"] == pytest.approx(2 / 5) and summary["errors"] == 0.0


# --- the optional judge -----------------------------------------------------------------------------
def test_the_faithfulness_judge_scores_the_share_of_supported_sentences() -> None:
    prompt = load_prompt(ROOT / "prompts", "judge_faithfulness")
    two = answer("AI is named [1]. Chips are named too [1].", [passage(TECH)], [0])
    judge = FaithfulnessJudge(FakeListChatModel(responses=["1: YES\n2: NO", "I am not sure."]), prompt)
    assert judge.score(two) == 0.5
    assert judge.score(two) is None  # an unreadable verdict is no score, not a zero
    assert judge.score(answer("No.", [passage(TECH)], refused=True)) is None

    class Down(FakeListChatModel):
        def _call(self, *args: Any, **kwargs: Any) -> str:
            raise ConnectionError("judge is down")

    broken = FaithfulnessJudge(Down(responses=["x"]), prompt)
    assert broken.score(two) is None and broken.failures == ["ConnectionError: judge is down"]


def test_the_judge_is_off_unless_its_url_is_set(
    make_assistant: AssistantFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    assistant = make_assistant()
    monkeypatch.delenv("ASSISTANT_EVAL_JUDGE_URL", raising=False)
    assert judge_from_env(assistant) is None
    monkeypatch.setenv("ASSISTANT_EVAL_JUDGE_URL", "http://127.0.0.1:9/v1")
    assert isinstance(judge_from_env(assistant), FaithfulnessJudge)  # built lazily: nothing is called yet


# --- runs through the chain with fake models ---------------------------------------------------------
def test_a_follow_up_asks_the_earlier_turns_first_and_passes_the_history(
    make_assistant: AssistantFactory, seed_corpus: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assistant = make_assistant(
        responses=[
            "Former Prime Minister Shinzo Abe is mentioned [1].",  # the earlier turn
            "What did Shinzo Abe use his relationship with Trump for?",  # the condensed question
            "Abe used his relationship with Trump to safeguard Japanese interests [1].",
        ]
    )
    assistant.ingest()
    asked: list[tuple[str, list[dict[str, str]]]] = []
    real_ask = assistant.ask
    monkeypatch.setattr(assistant, "ask", lambda q, h=(): asked.append((q, list(h))) or real_ask(q, h))
    case = next(c for c in load_eval_set(ROOT / "eval" / "questions.yaml") if c.id == "follow-abe-01")
    run = run_eval(assistant, [case], progress=lambda done, total, case_id: asked.append((case_id, [])))
    result = run.results[0]
    assert [q for q, _ in asked] == [*case.turns, "follow-abe-01"]
    assert asked[1][1] == [
        {"role": "user", "content": case.setup[0]},
        {"role": "assistant", "content": result.setup_answers[0]},
    ]
    assert "Abe" in result.setup_answers[0]
    assert result.answer is not None and result.answer.standalone_question.startswith("What did Shinzo Abe")
    assert result.passed, (result.checks, result.answer.text)


def test_a_case_the_chain_rejects_is_an_error_not_a_crash(
    make_assistant: AssistantFactory, seed_corpus: Path
) -> None:
    assistant = make_assistant()
    assistant.ingest()
    run = run_eval(assistant, [EvalCase("long", "unanswerable", "why " * 1000, False)])
    assert run.results[0].error is not None and "characters long" in run.results[0].error
    assert run.summary["errors"] == 1.0 and not run.results[0].passed


# --- the command and its gate ------------------------------------------------------------------------
class ScriptedModel(BaseChatModel):
    """Replies by what the prompt's last message contains (order-independent, unlike a list of replies)."""

    script: list[tuple[str, str]]
    default: str = "NOT IN DOCUMENTS"
    prompts: list[str] = Field(default_factory=list)

    @property
    def _llm_type(self) -> str:
        return "scripted"

    def _generate(self, messages: list[BaseMessage], stop: Any = None, **kwargs: Any) -> ChatResult:
        prompt = messages[-1].text
        self.prompts.append(prompt)
        reply = next((r for key, r in self.script if key in prompt), self.default)
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=reply))])


GOOD_SCRIPT = [  # (text in the prompt, reply); the condense prompt ends "Follow-up question: ..."
    ("Follow-up question:", "Which country besides Japan takes part in the trilateral meetings?"),
    (
        "Question: Which country besides Japan",
        "South Korea is involved in the trilateral meetings [1].",
    ),
    ("Question: Are three-way", "Yes, trilateral meetings with Japan and South Korea are a focal point [1]."),
    ("Question: Which critical technologies", "Joint ventures are promoted in AI and semiconductors [1]."),
]
SMALL_SET = """
- id: ans-tech
  category: answerable
  question: Which critical technologies are named for joint ventures?
  reference: AI and semiconductors.
  key_facts: [[" ai ", " ai."], [semiconductor]]
  reference_contexts: [{source: meeting-article.md, quote: "such as AI and semiconductors"}]
  answerable: true
- id: unans-date
  category: unanswerable
  question: On what date did the meeting take place?
  answerable: false
- id: follow-korea
  category: followup
  conversation: ["Are three-way summits on the table at all?", "Which country besides Japan?"]
  reference: South Korea.
  key_facts: [[korea]]
  reference_contexts: [{source: meeting-article.md, quote: "involving Japan and South Korea"}]
  answerable: true
"""
GATE = "min: {key_fact_accuracy: 0.9, refusal_accuracy: 0.9, citation_precision: 0.9, hit_at_3: 0.95}\n"


@pytest.fixture
def eval_cli(
    seed_corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, embeddings: Any
) -> Callable[..., Any]:
    """Run `assistant eval` on the small set (thresholds beside it) with the given chat model."""
    monkeypatch.setattr("assistant.factory.LocalEmbeddings", lambda *a, **k: embeddings)
    folder = tmp_path / "eval"
    folder.mkdir()
    (folder / "questions.yaml").write_text(SMALL_SET, encoding="utf-8")
    (folder / "thresholds.yaml").write_text(GATE, encoding="utf-8")

    def run(model: BaseChatModel, *extra: str) -> Any:
        monkeypatch.setattr("assistant.factory.load_chat_model", lambda *a, **k: model)
        args = ["eval", "--questions", str(folder / "questions.yaml"), *extra]
        return CliRunner().invoke(cli.main, args, catch_exceptions=False)

    return run


def test_eval_writes_the_report_and_passes_the_gate(eval_cli: Callable[..., Any], tmp_path: Path) -> None:
    out = tmp_path / "report"
    result = eval_cli(ScriptedModel(script=GOOD_SCRIPT), "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "Gate: PASSED" in result.stdout and "key_fact_accuracy" in result.stdout
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert report["summary"]["key_fact_accuracy"] == 1.0 and report["summary"]["refusal_accuracy"] == 1.0
    assert [c["id"] for c in report["cases"]] == ["ans-tech", "unans-date", "follow-korea"]
    assert all(c["passed"] for c in report["cases"]), [c["checks"] for c in report["cases"]]
    assert report["settings"]["top_k"] >= 3 and report["run_seconds"] > 0
    assert {p.name for p in out.iterdir()} >= {"report.json", "report.html", "ragas.jsonl", "scores.png"}


def test_eval_below_the_gate_exits_1_and_compare_shows_the_regressions(
    eval_cli: Callable[..., Any], tmp_path: Path
) -> None:
    before, after = tmp_path / "before", tmp_path / "after"
    assert eval_cli(ScriptedModel(script=GOOD_SCRIPT), "--out", str(before)).exit_code == 0
    result = eval_cli(ScriptedModel(script=[]), "--out", str(after), "--compare", str(before / "report.json"))
    assert result.exit_code == 1
    assert "Gate: FAILED" in result.stdout
    # a model that always declines: every case refused (the quoted evidence still holds some key facts)
    assert "refusal_accuracy: 1.000 -> 0.333" in result.stdout
    assert "key_fact_accuracy: 1.000 -> 0.500" in result.stdout
    assert "ans-tech: refusal" in result.stdout
    assert "Compared with the previous report" in (after / "report.html").read_text(encoding="utf-8")


def test_eval_reports_a_malformed_question_file_in_one_line(
    eval_cli: Callable[..., Any], tmp_path: Path
) -> None:
    broken = SMALL_SET.replace("  answerable: false", "  answerable: no way")
    (tmp_path / "eval" / "questions.yaml").write_text(broken, encoding="utf-8")
    result = eval_cli(ScriptedModel(script=[]), "--out", str(tmp_path / "out"))
    assert result.exit_code == 1
    assert "case 'unans-date' (entry 2), field 'answerable'" in result.output
    assert "Traceback" not in result.output


@pytest.mark.llm
def test_eval_end_to_end_with_the_real_model(
    eval_cli: Callable[..., Any], tmp_path: Path, real_llm: Any
) -> None:
    """A subset of the shipped set: an answerable, an unanswerable, an injection and a follow-up case."""
    chosen = ["ans-critical-tech-01", "unans-france-01", "adv-system-prompt-01", "follow-korea-01"]
    entries = yaml.safe_load((ROOT / "eval" / "questions.yaml").read_text(encoding="utf-8"))
    subset = [e for e in entries if e["id"] in chosen]
    (tmp_path / "eval" / "questions.yaml").write_text(yaml.safe_dump(subset), encoding="utf-8")
    (tmp_path / "eval" / "thresholds.yaml").write_text("max: {errors: 0}\n", encoding="utf-8")
    out = tmp_path / "out"
    result = eval_cli(real_llm, "--out", str(out))
    assert result.exit_code == 0, result.output
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    cases = {c["id"]: c for c in report["cases"]}
    assert set(cases) == set(chosen)
    assert cases["unans-france-01"]["refused"] and cases["adv-system-prompt-01"]["refused"]
    assert cases["ans-critical-tech-01"]["checks"]["retrieval"]
    assert cases["follow-korea-01"]["setup_answers"] and cases["follow-korea-01"]["standalone_question"]
    assert report["summary"]["total_p50_s"] > 0
