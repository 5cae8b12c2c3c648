"""The feedback log (thumbs and comments in data/feedback.jsonl) and its export as draft test cases."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from assistant import cli
from assistant.config import Settings
from assistant.feedback import FeedbackLog, feedback_path

CITED = [
    {"number": 1, "source": "meeting-article.md", "title": "T", "quote": "AI and semiconductors", "start": 0}
]


@pytest.fixture
def log(tmp_path: Path) -> FeedbackLog:
    return FeedbackLog(tmp_path / "data" / "feedback.jsonl")


def test_ratings_and_comments_are_appended_and_merged(log: FeedbackLog) -> None:
    first = log.record("Q1?", "A1 [1].", "up", citations=CITED, user="ann")
    second = log.record("Q2?", "The documents don't say.", "down", refused=True, comment="It is in para 3")
    log.comment(first, "great")
    log.comment(second, "Actually in paragraph 4")
    entries = log.entries()
    assert [e["question"] for e in entries] == ["Q1?", "Q2?"]
    assert entries[0]["comment"] == "great" and entries[0]["user"] == "ann" and entries[0]["time"]
    assert entries[0]["citations"][0] == {
        "number": 1,
        "source": "meeting-article.md",
        "title": "T",
        "quote": "AI and semiconductors",
        "start": 0,
        "end": None,
    }
    assert entries[1]["refused"] is True and entries[1]["comment"] == "Actually in paragraph 4"
    assert len(log.path.read_text().splitlines()) == 4  # append-only


def test_bad_lines_are_skipped_and_bad_ratings_refused(log: FeedbackLog) -> None:
    log.record("Q?", "A.", "up")
    with log.path.open("a") as handle:
        handle.write("{not json\n[1, 2]\n")
    log.comment("unknown-id", "orphan")
    assert len(log.entries()) == 1
    with pytest.raises(ValueError, match="up"):
        log.record("Q?", "A.", "meh")


def test_thumbs_down_export_as_draft_cases_in_the_question_set_format(
    log: FeedbackLog, tmp_path: Path
) -> None:
    log.record("Which technologies?", "Cars [1].", "down", citations=CITED, comment="Wrong:\nit says AI")
    log.record("Fine?", "Yes [1].", "up", citations=CITED)
    log.record("When?", "The documents don't say.", "down", refused=True, history=["Who met?"])
    out = tmp_path / "drafts" / "feedback-cases.yaml"
    assert log.export_drafts(out) == 2
    text = out.read_text()
    assert text.startswith("# Draft test cases from thumbs-down feedback (2 entries")
    assert "# user comment: Wrong:\n#   it says AI" in text and "# earlier question: Who met?" in text
    assert "# assistant said (refused): The documents don't say." in text
    cases = yaml.safe_load(text)
    assert [c["question"] for c in cases] == ["Which technologies?", "When?"]
    first = cases[0]
    assert first["id"].startswith("ans-feedback-") and first["category"] == "answerable"
    assert first["answerable"] is True and first["reference"].startswith("TODO")
    assert first["key_facts"] == [["TODO: a word stem the answer must contain"]]
    assert first["reference_contexts"][0]["source"] == "meeting-article.md"
    assert first["reference_contexts"][0]["quote"].startswith("TODO")
    assert len({c["id"] for c in cases}) == 2
    assert set(first) == {
        "id",
        "category",
        "question",
        "reference",
        "key_facts",
        "reference_contexts",
        "answerable",
    }


def test_export_with_no_feedback_writes_an_empty_list(log: FeedbackLog, tmp_path: Path) -> None:
    assert log.export_drafts(tmp_path / "none.yaml") == 0
    assert yaml.safe_load((tmp_path / "none.yaml").read_text()) is None


def test_feedback_export_command(tmp_path: Path) -> None:
    FeedbackLog(feedback_path(Settings())).record("Q?", "A.", "down")
    out = tmp_path / "drafts.yaml"
    result = CliRunner().invoke(cli.main, ["feedback", "export", str(out)])
    assert result.exit_code == 0, result.output
    assert "Wrote 1 draft case(s)" in result.output and yaml.safe_load(out.read_text())[0]["question"] == "Q?"
