from __future__ import annotations

import pytest

from assistant.citations import (
    CitationChecker,
    cited_numbers,
    example_terms,
    is_refusal,
    key_terms,
    split_sentences,
)
from assistant.glossary import Glossary
from assistant.prompts import load_prompt
from assistant.types import Passage
from tests.conftest import ROOT


def passage(i: int, text: str) -> Passage:
    return Passage(f"c{i}", text, "meeting-article.md", "Meeting", i, i * 100, i * 100 + len(text), 0.5)


PASSAGES = [
    passage(
        0,
        "Reflecting on the strategies of former Prime Minister Shinzo Abe, who utilized his relationship "
        "with Trump to safeguard Japanese interests, Ishiba faces the task of cultivating a similarly "
        "productive partnership.",
    ),
    passage(
        1,
        "The United States is keen on fostering a new era of U.S.-Japan relations aimed at ensuring "
        "regional peace and prosperity. This entails ongoing collaboration to bolster cybersecurity "
        "capabilities, expand space cooperation, and promote joint ventures in critical technologies "
        "such as AI and semiconductors.",
    ),
    passage(
        2,
        "Further discussions are anticipated on practicing joint military exercises and enhancing "
        "defense equipment and technology cooperation.",
    ),
]


@pytest.fixture(scope="module")
def checker(embeddings) -> CitationChecker:
    return CitationChecker(embeddings, threshold=0.45)


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


def test_correct_citation_is_kept_and_quoted(checker: CitationChecker) -> None:
    result = checker.check("Joint ventures cover AI and semiconductors [2].", PASSAGES)
    assert result.unsupported == []
    assert result.text == "Joint ventures cover AI and semiconductors [1]."
    [citation] = result.citations
    assert citation.chunk_id == "c1"
    assert "AI and semiconductors" in citation.quote


def test_wrong_citation_is_reattributed(checker: CitationChecker) -> None:
    result = checker.check(
        "Abe used his relationship with Trump to safeguard Japanese interests [3].", PASSAGES
    )
    assert [c.chunk_id for c in result.citations] == ["c0"]


def test_missing_and_out_of_range_citations_are_fixed(checker: CitationChecker) -> None:
    result = checker.check("Joint military exercises will be discussed [9].", PASSAGES)
    assert [c.chunk_id for c in result.citations] == ["c2"]
    assert "[9]" not in result.text and "[1]" in result.text


def test_invented_specifics_are_unsupported(checker: CitationChecker) -> None:
    draft = (
        "The meeting took place on February 7, 2025 in Washington [1]. "
        "Abe safeguarded Japanese interests [1]."
    )
    result = checker.check(draft, PASSAGES)
    assert result.unsupported == ["The meeting took place on February 7, 2025 in Washington."]
    assert result.text == "Abe safeguarded Japanese interests [1]."


def test_an_outcome_no_passage_states_is_unsupported_even_when_the_question_presupposes_it(
    checker: CitationChecker,
) -> None:
    question = "What agreement did the two sides sign?"
    invented = "The two sides signed an agreement on joint military exercises and defense equipment [3]."
    assert checker.check(invented, PASSAGES, question=question).text == ""
    stated = "They expect to discuss joint military exercises and defense equipment cooperation [3]."
    assert checker.check(stated, PASSAGES, question=question).citations[0].chunk_id == "c2"
    promised = "Abe promised to safeguard Japanese interests [1]."  # the passage: he used his relationship
    assert checker.check(promised, PASSAGES, question="What did Abe promise?").text == ""
    settled = [passage(0, "The two sides signed an agreement on joint military exercises.")]
    claim = "The two sides signed an agreement on joint military exercises [1]."
    assert checker.check(claim, settled, question=question).text == claim


def test_a_question_name_counts_as_given_only_when_a_passage_knows_it(embeddings) -> None:
    glossary = Glossary({"Washington": ["United States", "U.S.", "American"], "Tokyo": ["Japan", "Japanese"]})
    checker = CitationChecker(embeddings, threshold=0.45, glossary=glossary)
    invented = "China is mentioned as a partner in joint ventures in AI and semiconductors [2]."
    assert checker.check(invented, PASSAGES, question="What does the article say about China?").text == ""
    # metonyms through the glossary, both ways: Tokyo -> Japanese, American -> U.S.
    echo = "Tokyo hopes to cultivate a similarly productive partnership [1]."
    assert checker.check(echo, PASSAGES, question="What does Tokyo hope to build?").citations
    echo = "The American side wants joint ventures in critical technologies such as AI [2]."
    assert checker.check(echo, PASSAGES, question="What does the American side want?").citations
    # a name the question shares with a passage other than the cited one stays given, as before
    shared = "Ishiba wants joint military exercises [3]."
    assert checker.check(shared, PASSAGES, question="Does Ishiba want joint military exercises?").citations


def test_a_sentence_repeating_the_prompt_example_is_unsupported(embeddings) -> None:
    prompt = load_prompt(ROOT / "prompts", "answer")
    shown = example_terms(prompt)
    assert {"batter", "factory"} <= shown and "passag" not in shown  # the rules' own words are not examples
    checker = CitationChecker(embeddings, threshold=0.45, example_terms=shown)
    investment = [
        passage(
            0,
            "Senior administration officials hinted at seeking commitments from Japan, particularly in terms "
            "of investments in U.S. manufacturing.",
        )
    ]
    question = "What does the U.S. want Japan to buy more of?"
    leaked = "The U.S. wants Japan to buy more electric cars and batteries for its manufacturing [1]."
    assert checker.check(leaked, investment, question=question).text == ""
    assert CitationChecker(embeddings, threshold=0.45).check(leaked, investment, question=question).text
    # the same words are fine when the question or a passage has them; one everyday word is no evidence
    asked = "The officials want investments in U.S. manufacturing of electric batteries [1]."
    assert checker.check(asked, investment, question="Do they want electric batteries?").citations
    note = [passage(0, "A visitor's note says the leaders discussed a joint lunar exploration programme.")]
    said = "The visitor's note said the leaders discussed a joint lunar exploration programme [1]."
    assert checker.check(said, note, question="What did the note say the leaders discussed?").citations


def test_unrelated_answer_is_not_supported(checker: CitationChecker) -> None:
    result = checker.check("The capital of France is Paris [1].", PASSAGES)
    assert result.text == "" and result.citations == []


def test_refusals_are_recognised() -> None:
    assert is_refusal("NOT IN DOCUMENTS")
    assert is_refusal("The passages do not specify the date of the meeting.")
    assert is_refusal("The date is not mentioned in the passages.")
    assert not is_refusal("Abe safeguarded Japanese interests [1].")


def test_key_terms_are_numbers_and_names() -> None:
    assert key_terms("On 7 February the leaders met in Washington.") == ["7", "February", "Washington"]


def test_a_weaker_extra_citation_is_dropped(checker: CitationChecker) -> None:
    result = checker.check("Japan and the U.S. plan to expand space cooperation [2][3].", PASSAGES)
    assert result.text == "Japan and the U.S. plan to expand space cooperation [1]."
    assert [c.chunk_id for c in result.citations] == ["c1"]


def test_a_passage_needed_for_a_name_is_cited_too(checker: CitationChecker) -> None:
    result = checker.check(
        "Shinzo Abe used his relationship with Trump, and the allies will expand space cooperation [2].",
        PASSAGES,
    )
    assert {c.chunk_id for c in result.citations} == {"c0", "c1"}


def test_titles_are_not_specifics_but_the_names_after_them_are() -> None:
    assert key_terms("The President met Prime Minister Ishiba.") == ["Ishiba"]
    assert key_terms("President Biden spoke.") == ["Biden"]


LEADERS = [
    passage(
        0,
        "President Donald Trump is set to engage in a pivotal meeting with Japanese Prime Minister Shigeru "
        "Ishiba. This high-stakes visit underscores the importance of the U.S.-Japan alliance.",
    ),
    passage(
        1,
        "During their meeting, President Trump expressed confidence in their relationship, stating, \"It's a "
        'great honor to be with Prime Minister Ishiba of Japan."',
    ),
]


def test_one_passage_holding_every_name_replaces_the_cited_one_plus_helpers(checker: CitationChecker) -> None:
    # [2] mentions Trump and Ishiba but not "Shigeru"; [1] says the whole sentence: cite it alone
    result = checker.check(
        "The meeting is between President Trump and Prime Minister Shigeru Ishiba [2].", LEADERS
    )
    assert [c.chunk_id for c in result.citations] == ["c0"]
    assert result.text.endswith("[1].")
