"""Across languages (issue 18): English glosses of Japanese words, numbers as English writes them, the support
check of an English answer against Japanese evidence, Japanese questions typed and answered in Japanese."""

from __future__ import annotations

import threading

import pytest

from assistant.answering import AnswerStep, TextAnalyser, Trace
from assistant.answering.answer_types import japanese_answer_type
from assistant.answering.support import SupportChecker
from assistant.answering.terms import TermMatcher
from assistant.bilingual import LEXICON, Lexicon, japanese_terms, number_words
from assistant.glossary import Glossary
from assistant.sentence_encoder import E5Encoder
from assistant.types import Passage
from tests.conftest import ROOT

READOUT = (ROOT / "corpus" / "meeting-readout-ja.md").read_text(encoding="utf-8").split("---")[-1].strip()
LUNAR = "宇宙分野では、両国が月面探査の共同研究に総額3億ドルを拠出することで一致した。"
GROUP = (
    "経済分野では、半導体のサプライチェーン強化に関する日米作業部会を新たに設置し、4月10日に東京で初会合を"
    "開催することを確認した。"
)
EXPO = "石破総理は、トランプ大統領に対し、大阪・関西万博への訪問を招待した。"


def passage(i: int, text: str) -> Passage:
    return Passage(f"j{i}", text, "meeting-readout-ja.md", "日米首脳会談（概要）", i, 0, len(text), 0.5)


def test_glosses_give_words_their_senses_and_names_their_romanised_forms() -> None:
    assert "invitation" in LEXICON.glosses("招待")
    assert {"working", "group"} <= LEXICON.glosses("作業部会")
    assert "ishiba" in LEXICON.glosses("石破", name=True)
    assert "ishiba" not in LEXICON.glosses("石破")  # names only for proper nouns
    assert LEXICON.glosses("ぬぬぬぬ") == frozenset()
    terms = dict((t[0], t) for t in japanese_terms(EXPO))
    assert "trump" in terms["トランプ"] and "president" in terms["大統領"]  # a name's parts apart


def test_numbers_are_given_as_english_writes_them() -> None:
    assert {"300", "million", "300000000", "300,000,000"} <= number_words(LUNAR)
    assert {"april", "10"} <= number_words(GROUP)
    assert {"15", "million"} <= number_words("1,500万ドル") and {"300", "million"} <= number_words("三億円")
    assert "billion" not in number_words(LUNAR)


@pytest.fixture(scope="module")
def checker(analyser: TextAnalyser) -> SupportChecker:
    return SupportChecker(analyser, TermMatcher(Glossary({})))


@pytest.mark.parametrize(
    ("question", "draft", "supported"),
    [
        (
            "How much money are the two countries putting into joint lunar research?",
            "The two countries will contribute $300 million to joint lunar research [1].",
            True,
        ),
        (
            "How much money are the two countries putting into joint lunar research?",
            "The two countries will contribute $3 billion to joint lunar research [1].",  # 3億 is 300 million
            False,
        ),
        (
            "When does the chip working group hold its first meeting?",
            "The working group holds its first meeting on April 10 [1].",
            True,
        ),
        ("When does the chip working group hold its first meeting?", "It meets on April 11 [1].", False),
        ("Where did Ishiba invite Trump?", "Ishiba invited Trump to visit Osaka [1].", True),
        ("Where did Ishiba invite Trump?", "Ishiba invited Trump to visit Nagoya [1].", False),
    ],
)
def test_an_english_answer_is_checked_against_japanese_evidence(
    checker: SupportChecker, question: str, draft: str, supported: bool
) -> None:
    passages = [passage(0, READOUT)]
    [check] = checker.check(draft, passages, question)
    assert check.supported is supported, check.missing


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("作業部会の議長は誰ですか？", "person"),
        ("初会合はいつですか", "date"),
        ("初会合は何日ですか", "date"),
        ("石破総理はトランプ大統領をどこに招待しましたか？", "place"),
        ("両国はいくら拠出しますか？", "amount"),
        ("どの国が参加しますか", "country"),
        ("なぜ会談したのですか", "reason"),
        ("両首脳が署名した条約の名前は何ですか？", "name"),
        ("トランプ大統領は石破総理をどのように評価しましたか？", "open"),
    ],
)
def test_japanese_questions_are_typed_by_their_question_word(question: str, kind: str) -> None:
    found = japanese_answer_type(question)
    assert found.kind == kind and found.japanese


@pytest.fixture(scope="module")
def step(analyser: TextAnalyser) -> AnswerStep:
    return AnswerStep(analyser, E5Encoder(), Glossary({}))


def test_a_japanese_trap_is_refused_in_japanese(step: AnswerStep) -> None:
    passages = [passage(0, LUNAR), passage(1, GROUP), passage(2, EXPO)]
    question = "両首脳が署名した条約の名前は何ですか？"
    plan = step.plan(question, passages)
    composed = step.finish(plan, "両首脳が署名した条約は日米同盟条約です [1]。", question, Trace())
    assert composed.refused and composed.text.startswith("資料には名前は書かれていません。")


def test_an_english_question_takes_its_answer_from_the_japanese_sentence(step: AnswerStep) -> None:
    article = Passage(
        "e0",
        "President Donald Trump is set to engage in a pivotal meeting with Japanese Prime Minister Shigeru "
        "Ishiba.",
        "meeting-article.md",
        "Meeting",
        0,
        0,
        104,
        0.6,
    )
    question = "When does the chip supply-chain working group hold its first meeting?"
    plan = step.plan(question, [article, passage(1, f"{LUNAR}\n\n{GROUP}\n\n{EXPO}")])
    assert plan.units[0].text == GROUP and plan.units[0].fillers == ["4月10日"]
    composed = step.finish(plan, "The working group first meets on April 10 [1].", question, Trace())
    assert not composed.refused and "April 10" in composed.text and GROUP in composed.text


def test_a_name_a_japanese_passage_gives_in_japanese_is_not_unmentioned(step: AnswerStep) -> None:
    plan = step.plan("When will Trump visit the Osaka Expo?", [passage(0, EXPO)])
    assert plan.unmentioned == []  # 大阪 is Osaka
    assert step.plan("When will Trump visit Nagoya?", [passage(0, EXPO)]).unmentioned == ["Nagoya"]


def test_glosses_are_looked_up_from_any_thread() -> None:
    """The chat answers in a pool of threads: a SQLite connection must not cross them."""
    lexicon = Lexicon()
    assert "visit" in lexicon.glosses("訪問")
    found: list[object] = []
    worker = threading.Thread(target=lambda: found.append(lexicon.glosses("招待")))
    worker.start()
    worker.join()
    assert found == [frozenset({"invitation"})]
