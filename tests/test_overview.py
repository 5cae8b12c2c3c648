"""Overview requests ("Summarise the article") are answered from a document's opening passages."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from assistant.overview import OverviewPassages, asks_for_catalogue, asks_for_overview
from assistant.rag import REFUSAL_TEXT
from assistant.types import DocumentInfo
from tests.conftest import ROOT, AssistantFactory


@pytest.mark.parametrize(
    "question",
    [
        "Summarise the article in two sentences.",
        "Can you summarize this?",
        "Give me an overview",
        "What is this document about?",
        "What are the key points?",
        "tl;dr please",
    ],
)
def test_overview_requests_are_recognised(question: str) -> None:
    assert asks_for_overview(question)


@pytest.mark.parametrize(
    "question", ["Tell me a joke about politicians.", "What is the capital of France?", "Who met whom?"]
)
def test_other_questions_are_not_overview_requests(question: str) -> None:
    assert not asks_for_overview(question)


def info(source: str, title: str, added_at: str) -> DocumentInfo:
    return DocumentInfo(source, title, 3, "h" + source, added_at, 100)


def test_the_named_document_is_chosen_else_the_newest() -> None:
    chooser = OverviewPassages(store=None, embeddings=None)  # type: ignore[arg-type]  (choose uses neither)
    docs = [
        info("meeting-article.md", "Trump and Ishiba meet", "2026-11-01T10:00:00+00:00"),
        info("port-fees-memo.md", "Port fees memo", "2026-11-20T10:00:00+00:00"),
        info("budget.pdf", "Defence budget outlook", "2026-11-05T10:00:00+00:00"),
    ]
    assert chooser.choose("Summarise it", docs).source == "port-fees-memo.md"
    assert chooser.choose("Summarise the article about Ishiba", docs).source == "meeting-article.md"
    assert chooser.choose("Give me an overview of the budget", docs).source == "budget.pdf"
    # the kind of document asked for: "the article" is not the newer memo (nor "the memo" the article)
    assert chooser.choose("Summarise the article in two sentences", docs).source == "meeting-article.md"
    assert chooser.choose("Summarise the memo", docs).source == "port-fees-memo.md"
    assert chooser.choose("Summarise it", []) is None


def test_a_summary_request_is_answered_from_the_opening_passages(
    make_assistant: AssistantFactory, seed_corpus: Path
) -> None:
    reply = (
        "President Trump is set to meet Prime Minister Shigeru Ishiba, a visit that underscores the "
        "U.S.-Japan alliance [1]."
    )
    assistant = make_assistant(responses=[reply])
    assistant.ingest()
    answer = assistant.ask("Summarise the article in two sentences.")
    assert not answer.refused, answer.refusal_reason
    assert [p.position for p in answer.passages] == [0, 1, 2, 3]
    assert answer.citations[0].source == "meeting-article.md" and answer.citations[0].start == 0
    assert all(-1.0 <= p.score <= 1.0 for p in answer.passages)


def test_the_named_kind_of_document_is_summarised_however_close_another_comes(
    make_assistant: AssistantFactory, seed_corpus: Path
) -> None:
    """The readout's opening (概要, "summary") comes close to "Summarise the article": the article it is."""
    shutil.copy(ROOT / "corpus" / "meeting-readout-ja.md", seed_corpus)
    reply = "President Trump is set to meet Prime Minister Shigeru Ishiba [1]."
    assistant = make_assistant(responses=[reply] * 2)
    assistant.ingest()
    answer = assistant.ask("Summarise the article in two sentences.")
    assert {p.source for p in answer.passages} == {"meeting-article.md"}
    assert [p.position for p in answer.passages] == [0, 1, 2, 3]
    readout = assistant.ask("Summarise the readout.")
    assert {p.source for p in readout.passages} == {"meeting-readout-ja.md"}


def test_an_off_topic_question_is_still_refused_without_the_model(
    make_assistant: AssistantFactory, seed_corpus: Path
) -> None:
    assistant = make_assistant()
    assistant.ingest()
    answer = assistant.ask("Tell me a joke about politicians.")
    assert answer.refused and answer.text == REFUSAL_TEXT
    assert assistant.chain.model.i == 0  # type: ignore[attr-defined]  (the fake model was never called)


def test_a_summary_request_with_no_documents_is_refused(make_assistant: AssistantFactory) -> None:
    answer = make_assistant().ask("Summarise the article.")
    assert answer.refused


@pytest.mark.parametrize(
    "question", ["Which documents do you have?", "What files are indexed?", "list your sources"]
)
def test_questions_about_the_corpus_are_recognised(question: str) -> None:
    assert asks_for_catalogue(question)


@pytest.mark.parametrize("question", ["What files are there about tariffs?", "Which documents mention Abe?"])
def test_questions_about_a_topic_are_not_about_the_corpus(question: str) -> None:
    assert not asks_for_catalogue(question)


def test_which_documents_lists_them_without_the_model(
    make_assistant: AssistantFactory, seed_corpus: Path
) -> None:
    assistant = make_assistant()
    assert "No documents are indexed yet" in assistant.ask("Which documents do you have?").text
    assistant.ingest()
    answer = assistant.ask("Which documents do you have?")
    assert not answer.refused and answer.citations == []
    assert answer.text.startswith("I answer from 1 document, newest first:")
    assert (
        "“Trump and Ishiba meet: alliance, investment and security on the agenda” (meeting-article.md, 11"
        in (answer.text)
    )
    assert assistant.chain.model.i == 0  # type: ignore[attr-defined]
