from __future__ import annotations

from pathlib import Path

import pytest

from assistant.errors import AssistantError
from assistant.glossary import Glossary
from tests.conftest import ROOT


def test_terms_expand_as_whole_words_only() -> None:
    glossary = Glossary({"PM": ["Prime Minister"], "Tokyo": ["Japan"]})
    assert glossary.expand("Is the PM in Tokyo?") == "Is the PM in Tokyo? (Prime Minister, Japan)"
    assert glossary.expand("Is the PMO open at 3pm?") == "Is the PMO open at 3pm?"


def test_words_already_in_the_query_are_not_repeated() -> None:
    glossary = Glossary({"Washington": ["United States", "U.S."]})
    assert glossary.expand("The U.S. view from Washington") == "The U.S. view from Washington (United States)"


def test_aliases_go_both_ways_within_an_entry() -> None:
    glossary = Glossary({"Washington": ["United States", "U.S.", "American"], "Tokyo": ["Japan"]})
    assert glossary.aliases("tokyo") == ["Japan"]
    assert glossary.aliases("American") == ["Washington", "United States", "U.S."]
    assert glossary.aliases("Seoul") == []


def test_missing_file_is_an_empty_glossary(tmp_path: Path) -> None:
    assert Glossary.load(tmp_path / "none.yaml").expand("Tokyo") == "Tokyo"


def test_malformed_glossary_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "g.yaml"
    path.write_text("Tokyo: {a: 1}\n")
    with pytest.raises(AssistantError, match="'Tokyo' must map to a list"):
        Glossary.load(path)


def test_glossary_lifts_the_right_passage_into_the_top_three(seeded) -> None:
    question = "Is there anything about digital security or hacking defences?"
    seeded.retriever.glossary = Glossary({})
    plain = [p.text for p in seeded.search(question, 3)]
    seeded.retriever.glossary = Glossary.load(ROOT / "glossary.yaml")
    expanded = [p.text for p in seeded.search(question, 3)]
    assert any("cybersecurity" in t for t in expanded)
    assert not any("cybersecurity" in t for t in plain)
