from __future__ import annotations

from pathlib import Path

import pytest

from assistant.errors import PromptError
from assistant.prompts import load_prompt
from tests.conftest import ROOT


def write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "p.yaml").write_text(text)
    return tmp_path


def test_project_prompts_load_and_render() -> None:
    answer = load_prompt(ROOT / "prompts", "answer")
    messages = answer.template().format_messages(passages="[1] Text.", question="Why?")
    assert messages[0].type == "system" and "NOT IN DOCUMENTS" in messages[0].content
    assert messages[-1].content.endswith("Question: Why?")
    assert len(messages) == 2 + 2 * len(answer.examples)
    assert load_prompt(ROOT / "prompts", "condense").input_variables == {"history", "question"}


def test_placeholder_mismatch_names_the_file(tmp_path: Path) -> None:
    folder = write(tmp_path, "input_variables: [question]\nsystem: Hi\nuser: '{question} {extra}'\n")
    with pytest.raises(PromptError, match=r"p\.yaml.*extra"):
        load_prompt(folder, "p")


def test_missing_fields_and_files_are_clear(tmp_path: Path) -> None:
    with pytest.raises(PromptError, match="lacks user"):
        load_prompt(write(tmp_path, "input_variables: []\nsystem: Hi\n"), "p")
    with pytest.raises(PromptError, match="missing"):
        load_prompt(tmp_path, "nope")
    with pytest.raises(PromptError, match="not valid YAML"):
        load_prompt(write(tmp_path, "system: [unclosed\n"), "p")


def test_examples_need_both_sides_and_no_braces(tmp_path: Path) -> None:
    base = "input_variables: []\nsystem: Hi\nuser: Go\nexamples:\n"
    with pytest.raises(PromptError, match="example 1 needs"):
        load_prompt(write(tmp_path, base + "  - user: only\n"), "p")
    with pytest.raises(PromptError, match="braces"):
        load_prompt(write(tmp_path, base + "  - {user: '{x}', assistant: y}\n"), "p")
