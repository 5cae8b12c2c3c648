"""The question set and the gate file: the real ones are consistent; broken ones fail with clear messages."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from assistant.errors import EvalSetError
from assistant.evalset import Threshold, apply_gate, load_eval_set, load_thresholds
from assistant.evaluation import METRICS, missing_facts

ROOT = Path(__file__).resolve().parent.parent
QUESTIONS = ROOT / "eval" / "questions.yaml"
ARTICLE = ROOT / "corpus" / "meeting-article.md"

GOOD = """
- id: ans-1
  category: answerable
  question: Which technologies?
  reference: AI and semiconductors.
  key_facts: [[" ai ", artificial intelligence], [semiconductor]]
  reference_contexts:
    - {source: meeting-article.md, quote: "AI and semiconductors"}
  answerable: true
- id: follow-1
  category: followup
  conversation: ['Who met?', 'And where?']
  answerable: false
"""


def write(tmp_path: Path, text: str, name: str = "questions.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_the_shipped_question_set_meets_the_issue() -> None:
    cases = load_eval_set(QUESTIONS)
    kinds = Counter(c.category for c in cases)
    assert len(cases) >= 40
    assert sum(c.answerable for c in cases) >= 25
    assert sum(not c.answerable for c in cases if c.category == "unanswerable") >= 8
    assert kinds["adversarial"] >= 4 and kinds["followup"] >= 4
    assert all(c.setup for c in cases if c.category == "followup")


def test_every_gold_quote_is_verbatim_in_one_paragraph_and_every_reference_has_its_facts() -> None:
    paragraphs = [" ".join(p.split()) for p in ARTICLE.read_text(encoding="utf-8").split("\n")]
    for case in load_eval_set(QUESTIONS):
        for gold in case.reference_contexts:
            assert gold.source == ARTICLE.name, case.id
            assert any(" ".join(gold.quote.split()) in p for p in paragraphs), (case.id, gold.quote)
        if case.answerable:
            assert not missing_facts(case.reference, case.key_facts), case.id


def test_cases_are_typed_and_spaces_in_alternatives_are_kept(tmp_path: Path) -> None:
    answerable, follow = load_eval_set(write(tmp_path, GOOD))
    assert answerable.key_facts == ((" ai ", "artificial intelligence"), ("semiconductor",))
    assert answerable.reference_contexts[0].quote == "AI and semiconductors"
    assert answerable.setup == () and answerable.turns == ("Which technologies?",)
    assert follow.question == "And where?" and follow.setup == ("Who met?",)
    assert not follow.answerable and follow.key_facts == ()


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("- id: follow-1", "- id: ans-1", "entry 2, field 'id': 'ans-1' is used by an earlier case"),
        ("- id: follow-1", "- id: ''", "entry 2, field 'id': must be non-empty text"),
        ("  answerable: false", "  answerable: maybe", "case 'follow-1' (entry 2), field 'answerable'"),
        (
            "  conversation: ['Who met?', 'And where?']",
            "",
            "case 'follow-1' (entry 2), field 'question': give",
        ),
        ("  conversation: ['Who met?', 'And where?']", "  conversation: []", "field 'conversation': must be"),
        (
            '  key_facts: [[" ai ", artificial intelligence], [semiconductor]]',
            "  key_facts: [[ai], []]",
            "case 'ans-1' (entry 1), field 'key_facts': fact 2 is an empty list",
        ),
        (
            '  key_facts: [[" ai ", artificial intelligence], [semiconductor]]',
            "",
            "case 'ans-1' (entry 1), field 'key_facts': must be a non-empty list",
        ),
        (
            '    - {source: meeting-article.md, quote: "AI and semiconductors"}',
            "    - {source: a.md}",
            "case 'ans-1' (entry 1), field 'reference_contexts': item 1 lacks quote",
        ),
        (
            "  reference: AI and semiconductors.",
            "  refrence: AI.",
            "case 'ans-1' (entry 1), field 'refrence'",
        ),
        ("  reference: AI and semiconductors.", "", "case 'ans-1' (entry 1), field 'reference'"),
        ("  category: followup", "", "case 'follow-1' (entry 2), field 'category'"),
    ],
)
def test_a_malformed_case_names_the_case_and_the_field(
    tmp_path: Path, old: str, new: str, expected: str
) -> None:
    assert old in GOOD
    path = write(tmp_path, GOOD.replace(old, new, 1))
    with pytest.raises(EvalSetError) as caught:
        load_eval_set(path)
    assert str(caught.value).startswith("questions.yaml: ")
    assert expected in str(caught.value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a: [unclosed", "is not valid YAML"),
        ("{just: a mapping}", "expected a non-empty list of cases"),
        ("[]", "expected a non-empty list of cases"),
        ("- just a string", "entry 1, field 'id': each case must be a mapping"),
    ],
)
def test_a_malformed_file_is_explained(tmp_path: Path, text: str, expected: str) -> None:
    with pytest.raises(EvalSetError, match=expected):
        load_eval_set(write(tmp_path, text))


def test_a_missing_file_is_explained(tmp_path: Path) -> None:
    with pytest.raises(EvalSetError, match="does not exist"):
        load_eval_set(tmp_path / "nope.yaml")


def test_the_shipped_thresholds_hold_the_issue_gate() -> None:
    gate = {t.metric: t for t in load_thresholds(QUESTIONS.parent / "thresholds.yaml", METRICS)}
    assert gate["key_fact_accuracy"] == Threshold("key_fact_accuracy", "min", 0.9)
    assert gate["refusal_accuracy"].limit == 0.95 and gate["citation_precision"].limit == 0.9
    assert gate["hit_at_3"] == Threshold("hit_at_3", "min", 0.95)


def test_the_regression_floor_ci_applies_is_below_the_targets() -> None:
    floor = load_thresholds(QUESTIONS.parent / "regression.yaml", METRICS)
    targets = {(t.metric, t.bound): t.limit for t in load_thresholds(QUESTIONS.parent / "thresholds.yaml")}
    assert {t.metric for t in floor} >= {m for m, _ in targets}  # every target metric has a floor
    for t in floor:  # a floor above a target would make CI stricter than the goal
        if (t.metric, t.bound) in targets and t.bound == "min":
            assert t.limit <= targets[(t.metric, t.bound)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("min: {key_facts_accuracy: 0.9}", "unknown metric 'key_facts_accuracy'"),
        ("min: {hit_at_3: high}", "metric 'hit_at_3': 'high' is not a number"),
        ("minimum: {hit_at_3: 0.9}", "expected sections 'min:' and/or 'max:'"),
        ("min: [hit_at_3]", "section 'min' must map metric names to numbers"),
    ],
)
def test_a_malformed_thresholds_file_is_explained(tmp_path: Path, text: str, expected: str) -> None:
    with pytest.raises(EvalSetError, match=expected):
        load_thresholds(write(tmp_path, text, "thresholds.yaml"), METRICS)


def test_the_gate_checks_minimums_maximums_and_fails_what_was_not_measured() -> None:
    gate = [Threshold("hit_at_3", "min", 0.95), Threshold("errors", "max", 0), Threshold("mrr", "min", 0.5)]
    results = apply_gate({"hit_at_3": 0.95, "errors": 1.0, "mrr": None}, gate)
    assert [r.passed for r in results] == [True, False, False]
    assert gate[0].describe() == "hit_at_3 >= 0.95" and gate[1].describe() == "errors <= 0"
