"""The report files (JSON, escaped HTML with embedded plots, RAGAS JSONL) and the comparison of two runs."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from assistant.errors import EvalSetError
from assistant.eval_report import (
    compare,
    format_comparison,
    format_summary,
    load_report,
    report_data,
    write_report,
)
from assistant.evalset import EvalCase, GoldContext, Threshold, apply_gate
from assistant.evaluation import EvalRun, score_case, summarise
from assistant.types import Answer, Citation, Passage

EVIL = "<script>alert('x')</script>"
TEXT = "promote joint ventures in critical technologies such as AI and semiconductors."
P = Passage("c1", TEXT, "meeting-article.md", "Meeting", 6, 10, 90, 0.61)
CASE = EvalCase(
    "ans-tech",
    "answerable",
    f"Which technologies? {EVIL}",
    True,
    reference="AI and semiconductors.",
    key_facts=(("semiconductor",),),
    reference_contexts=(GoldContext("meeting-article.md", "AI and semiconductors"),),
)
FOLLOW = EvalCase("follow-x", "followup", "And then?", False, setup=("Who met?",))


def build_run(answer_text: str = f"AI and semiconductors [1]. {EVIL}") -> EvalRun:
    cited = Citation(1, P.chunk_id, P.source, P.title, P.start, P.end, P.text, f"quote {EVIL}")
    good = Answer(CASE.question, CASE.question, answer_text, [cited], [P], timings={"total_s": 3.0})
    refused = Answer("And then?", "Who met, and then?", "The documents don't say.", [], [P], refused=True)
    refused.timings = {"first_token_s": 1.5, "total_s": 4.0}
    results = [score_case(CASE, good), score_case(FOLLOW, refused)]
    results[1].setup_answers = ["Trump and Ishiba met [1]."]
    return EvalRun(results, summarise(results), 7.5, "2026-11-27T10:00:00+00:00")


def data_for(run: EvalRun, tmp_path: Path, gate: list[Threshold] | None = None) -> dict[str, Any]:
    questions = tmp_path / "questions.yaml"
    questions.write_text("- id: x\n", encoding="utf-8")
    gate = gate if gate is not None else [Threshold("key_fact_accuracy", "min", 0.9)]
    results = apply_gate(run.summary, gate)
    return report_data(run, results, {"top_k": 4, "note": EVIL}, questions, 12.0)


def test_the_report_files_are_written(tmp_path: Path) -> None:
    data = data_for(build_run(), tmp_path)
    paths = write_report(data, tmp_path / "out")
    saved = json.loads(paths["json"].read_text(encoding="utf-8"))
    assert saved["gate"] == {
        "passed": True,
        "results": [
            {"metric": "key_fact_accuracy", "bound": "min", "limit": 0.9, "value": 1.0, "passed": True}
        ],
    }
    assert saved["run_seconds"] == 7.5 and saved["total_seconds"] == 12.0
    assert saved["counts"] == {"cases": 2, "answerable": 1, "refused": 1, "passed": 2}
    tech, follow = saved["cases"]
    assert tech["citations"][0]["quote"] == f"quote {EVIL}" and tech["retrieved"][0]["score"] == 0.61
    assert follow["setup"] == ["Who met?"] and follow["setup_answers"] == ["Trump and Ishiba met [1]."]
    assert paths["scores_png"].read_bytes().startswith(b"\x89PNG")
    assert paths["latency_png"].read_bytes().startswith(b"\x89PNG")


def test_the_ragas_export_has_exactly_the_ragas_fields(tmp_path: Path) -> None:
    paths = write_report(data_for(build_run(), tmp_path), tmp_path / "out")
    rows = [json.loads(line) for line in paths["ragas"].read_text(encoding="utf-8").splitlines()]
    fields = {"user_input", "response", "retrieved_contexts", "reference", "reference_contexts"}
    assert all(set(row) == fields for row in rows)
    assert rows[0]["retrieved_contexts"] == [TEXT] and rows[0]["reference_contexts"] == [
        "AI and semiconductors"
    ]
    assert rows[1]["user_input"] == "Who met, and then?"  # a follow-up goes out as its standalone question
    assert rows[1]["reference"] is None and rows[1]["reference_contexts"] is None


def test_the_html_is_self_contained_and_escaped(tmp_path: Path) -> None:
    data = data_for(build_run(), tmp_path)
    page = write_report(data, tmp_path / "out")["html"].read_text(encoding="utf-8")
    assert "<script" not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page
    assert page.count('src="data:image/png;base64,') == 2
    assert "http://" not in page and "https://" not in page
    for shown in ("ans-tech", "follow-x", "Who met?", "meeting-article.md", "key_facts", "refusal", "pass"):
        assert shown in page


def test_the_summary_table_shows_failing_thresholds(tmp_path: Path) -> None:
    gate = [Threshold("key_fact_accuracy", "min", 0.9), Threshold("total_p95_s", "max", 1.0)]
    data = data_for(build_run(), tmp_path, gate)
    table = format_summary(data)
    assert data["gate"]["passed"] is False
    assert any(
        line.startswith("total_p95_s") and line.split()[-3:] == ["<=", "1", "FAIL"]
        for line in table.splitlines()
    )
    assert any(line.startswith("key_fact_accuracy") and line.endswith("PASS") for line in table.splitlines())
    assert table.splitlines()[-1] == "Gate: FAILED"
    assert "FAIL" in write_report(data, tmp_path / "out")["html"].read_text(encoding="utf-8")


def test_compare_lists_what_improved_and_what_regressed(tmp_path: Path) -> None:
    before = data_for(build_run(), tmp_path)
    after = copy.deepcopy(before)
    after["summary"] |= {"key_fact_accuracy": 0.5, "hit_at_3": 1.0, "total_p50_s": 3.1, "total_p95_s": 1.0}
    before["summary"] |= {"hit_at_3": 0.8, "total_p50_s": 3.0, "total_p95_s": 4.0}
    after["cases"][0]["checks"] = {**after["cases"][0]["checks"], "key_facts": False}
    after["cases"][1]["checks"] = {**after["cases"][1]["checks"], "refusal": False}
    before["cases"][1]["checks"]["refusal"] = False
    after["cases"][1]["checks"]["refusal"] = True
    after["cases"].append({**after["cases"][0], "id": "new-case"})
    result = compare(before, after)
    assert result.regressed == ["key_fact_accuracy: 1.000 -> 0.500"]
    assert result.improved == ["hit_at_3: 0.800 -> 1.000", "total_p95_s: 4.000 -> 1.000"]  # p50: within noise
    assert result.cases_regressed == ["ans-tech: key_facts"]
    assert result.cases_improved == ["follow-x: refusal"]
    assert result.cases_added == ["new-case"] and result.cases_removed == []
    printed = format_comparison(result)
    assert "Metrics regressed: 1" in printed and "    ans-tech: key_facts" in printed
    page = write_report(after, tmp_path / "out", result)["html"].read_text(encoding="utf-8")
    assert "Cases regressed" in page and "ans-tech: key_facts" in page


@pytest.mark.parametrize(
    ("content", "expected"),
    [(None, "does not exist"), ("{nope", "is not valid JSON"), ('{"a": 1}', "is not a report.json")],
)
def test_a_bad_previous_report_is_explained(tmp_path: Path, content: str | None, expected: str) -> None:
    path = tmp_path / "report.json"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(EvalSetError, match=expected):
        load_report(path)
