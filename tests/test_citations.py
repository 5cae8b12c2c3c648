from __future__ import annotations

from assistant.citations import cited_numbers, is_refusal, split_sentences


def test_markers_are_parsed_in_their_many_forms() -> None:
    assert cited_numbers("It rose [1][3].") == [1, 3]
    assert cited_numbers("It rose [1, 2] and [Passage 4].") == [1, 2, 4]
    assert cited_numbers("No markers.") == []


def test_initials_do_not_end_a_sentence() -> None:
    text = "Japan hopes the U. S. will keep its guarantees, as John F. Kennedy did. The U.S. agreed. Next."
    assert split_sentences(text) == [
        "Japan hopes the U. S. will keep its guarantees, as John F. Kennedy did.",
        "The U.S. agreed.",
        "Next.",
    ]


def test_markers_after_the_full_stop_stay_with_their_sentence() -> None:
    assert split_sentences("Abe did it. [1] Ishiba too. [2]") == ["Abe did it. [1]", "Ishiba too. [2]"]


def test_refusals_are_recognised() -> None:
    assert is_refusal("NOT IN DOCUMENTS")
    assert is_refusal("The passages do not specify the date of the meeting.")
    assert is_refusal("The date is not mentioned in the passages.")
    assert not is_refusal("Abe safeguarded Japanese interests [1].")
