"""Names in Japanese evidence (issue 18): a Japanese window gets entities with the English pipeline's labels
(3億ドル MONEY, 4月10日 DATE, 東京 GPE), so an English question typed "How much" or "When" is answered by the
Japanese sentence that holds one. Real Sudachi, real spaCy, the real evidence model."""

from __future__ import annotations

import pytest

from assistant.answering import AnswerStep, TextAnalyser, Trace
from assistant.answering.answer_types import answer_type
from assistant.answering.evidence import EvidenceUnit, _locative
from assistant.answering.japanese_entities import entities
from assistant.glossary import Glossary
from assistant.sentence_encoder import E5Encoder
from assistant.types import Passage
from tests.conftest import ROOT, run_in_fresh_process
from tests.test_japanese import READOUT, CountingAnalyser, race, readout_paragraphs, seed_paragraphs

AMOUNT_QUESTION = "How much money are the two countries putting into joint lunar research?"
DATE_QUESTION = "When does the chip supply-chain working group hold its first meeting?"


@pytest.fixture(scope="module")
def step(analyser: TextAnalyser) -> AnswerStep:
    return AnswerStep(analyser, E5Encoder(), Glossary.load(ROOT / "glossary.yaml"))


def passages(texts: list[str], source: str = READOUT.name) -> list[Passage]:
    return [Passage(f"c{i}", t, source, "Readout", i, 0, len(t), 0.5) for i, t in enumerate(texts)]


def readout_and_article() -> list[Passage]:
    """The readout's paragraphs, then the seed article's, as retrieval may hand them over together."""
    ja, en = readout_paragraphs(), seed_paragraphs()
    return passages(ja) + [
        Passage(f"c{len(ja) + i}", t, "meeting-article.md", "Meeting", i, 0, len(t), 0.5)
        for i, t in enumerate(en)
    ]


def windows(step: AnswerStep, texts: list[str]) -> list[EvidenceUnit]:
    units = [u for i, p in enumerate(passages(texts)) for u in step.ranker.windows(i, p)]
    for unit in units:  # spans are exact offsets into the passage
        assert texts[unit.passage][unit.start : unit.end] == unit.text
    return units


# --- the names ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("日本政府は３億円を投じた。", [("日本", "GPE"), ("３億円", "MONEY")]),  # full-width, kept as written
        (
            "米国は約1兆5000億円、3割を負担する。",
            [("米国", "GPE"), ("1兆5000億円", "MONEY"), ("3割", "PERCENT")],
        ),
        ("関税は5％で、2025年度の予算に入る。", [("5％", "PERCENT"), ("2025年度", "DATE")]),
        ("令和7年4月に開催する。", [("令和7年4月", "DATE")]),  # the era name belongs to the date
        (
            "午後3時30分に第2回会合が開かれ、1万人が参加した。",
            [("午後3時30分", "TIME"), ("第2回", "ORDINAL"), ("1万人", "QUANTITY")],
        ),
        ("参加国は12だった。", [("12", "CARDINAL")]),
        # 晋三元首相: Sudachi cuts 晋 + 三 + 元; the 三 is the name's, not an amount
        ("岸田文雄前首相と安倍晋三元首相が会った。", [("岸田文雄", "PERSON"), ("安倍晋三", "PERSON")]),
        ("自民党とトヨタ自動車が発表した。", [("自民党", "ORG"), ("トヨタ自動車", "ORG")]),
    ],
)
def test_japanese_names_and_amounts_get_the_english_pipelines_labels(
    text: str, names: list[tuple[str, str]]
) -> None:
    found = entities(text)
    assert [(e.text, e.label) for e in found] == names
    assert all(text[e.start : e.end] == e.text for e in found)


@pytest.mark.parametrize(
    ("text", "locative"),
    [
        ("ワシントンで協議した。", True),
        ("東京において開かれた。", True),
        ("ニューヨークにて発表した。", True),
        ("北朝鮮の非核化に向けて連携する。", False),
        ("大阪に招待した。", False),
    ],
)
def test_a_place_is_where_something_happens_only_before_de_nite_or_nioite(text: str, locative: bool) -> None:
    (place,) = [e for e in entities(text) if e.label == "GPE"]
    assert place.locative is locative


def test_spans_are_exact_where_sudachi_normalises_the_text() -> None:
    text = "東京（とうきょう）で３億ドル、すごーーーい。ｶﾀｶﾅで㍻３１年。\n\n  石破　茂首相は ＡＩ分野で"
    text += "1,000万ドル。"
    found = entities(text)
    assert all(text[e.start : e.end] == e.text for e in found)
    assert {("３億ドル", "MONEY"), ("㍻３１年", "DATE"), ("1,000万ドル", "MONEY")} <= {
        (e.text, e.label) for e in found
    }


def test_threads_share_one_analyser_for_the_names() -> None:
    analyser = CountingAnalyser()
    race(analyser, lambda p: entities(p, analyser))


def test_english_words_between_are_left_to_the_english_pipeline() -> None:
    """Sudachi takes "Washington" for a person and "Tokyo" for a place of its own: outside Japanese, the
    English pipeline names them."""
    text = (
        "Trump met reporters in Washington; 石破総理は参加国は12だったと述べた。 Tokyo, NATO, $300 million."
    )
    assert [(e.text, e.label) for e in entities(text)] == [("石破", "PERSON"), ("12", "CARDINAL")]


# --- evidence windows --------------------------------------------------------------------------------------


def test_the_readouts_sentences_get_names_with_the_english_labels(step: AnswerStep) -> None:
    units = windows(step, readout_paragraphs())
    assert [u.names for u in units] == [
        [],  # 外務省 is a common noun to Sudachi: no organisation class
        [("インド太平洋", "GPE", False)],
        [("北朝鮮", "GPE", False)],
        [("3億ドル", "MONEY", False)],
        [("4月10日", "DATE", False), ("東京", "GPE", True)],  # 東京で: where it is held
        [
            ("石破", "PERSON", False),
            ("トランプ", "PERSON", False),
            ("大阪", "GPE", False),
            ("関西", "GPE", False),
        ],
    ]


def test_english_windows_keep_the_english_pipelines_names(step: AnswerStep, analyser: TextAnalyser) -> None:
    """English text: the names are spaCy's, as they always were."""
    for text in seed_paragraphs():
        doc = analyser.parse(text)
        for unit in windows(step, [text]):
            span = doc.char_span(unit.start, unit.end, alignment_mode="expand")
            assert unit.names == [(e.text, e.label_, _locative(e)) for e in span.ents]


def test_a_mixed_window_has_spacys_english_names_and_sudachis_japanese_ones(
    step: AnswerStep, analyser: TextAnalyser
) -> None:
    text = "President Trump told reporters in Washington that 石破総理は4月10日に東京で会う。"
    (unit,) = windows(step, [text])
    english = [(e.text, e.label_, _locative(e)) for e in analyser.parse(text).ents if e.text.isascii()]
    assert ("Washington", "GPE", True) in english
    assert unit.names == [
        *english,
        ("石破", "PERSON", False),
        ("4月10日", "DATE", False),
        ("東京", "GPE", True),
    ]


def test_english_windows_never_load_the_japanese_analyser() -> None:
    """In a fresh process: ranking English costs nothing more; the first Japanese window loads Sudachi."""
    script = (
        "import sys\n"
        "from assistant.answering import TextAnalyser\n"
        "from assistant.answering.evidence import EvidenceRanker\n"
        "from assistant.answering.terms import TermMatcher\n"
        "from assistant.glossary import Glossary\n"
        "from assistant.sentence_encoder import E5Encoder\n"
        "from assistant.types import Passage\n"
        "ranker = EvidenceRanker(TextAnalyser(), E5Encoder(), TermMatcher(Glossary({})))\n"
        "def names(text):\n"
        "    passage = Passage('c0', text, 's', 't', 0, 0, len(text), 0.5)\n"
        "    return [u.names for u in ranker.windows(0, passage)]\n"
        "names('Trump met Ishiba in Tokyo on April 10 and pledged $300 million.')\n"
        "assert 'sudachipy' not in sys.modules, 'loaded for English'\n"
        "assert names('総額3億ドルを拠出する。') == [[('3億ドル', 'MONEY', False)]]\n"
        "assert 'sudachipy' in sys.modules\n"
    )
    run_in_fresh_process(script)


# --- typed English questions answered by Japanese windows ------------------------------------------------


def rank(step: AnswerStep, question: str, given: list[Passage]) -> list[EvidenceUnit]:
    kind = answer_type(step.analyser.parse(question))
    return step.ranker.rank(question, kind, given)


def test_an_english_amount_question_ranks_the_japanese_amount_first(step: AnswerStep) -> None:
    units = rank(step, AMOUNT_QUESTION, readout_and_article())
    assert "総額3億ドル" in units[0].text
    assert units[0].fillers == ["3億ドル"]
    assert ("3億ドル", "MONEY", False) in units[0].names


def test_an_english_date_question_ranks_the_japanese_date_first(step: AnswerStep) -> None:
    units = rank(step, DATE_QUESTION, readout_and_article())
    assert "4月10日に東京で初会合" in units[0].text
    assert units[0].fillers == ["4月10日"]


@pytest.mark.parametrize(
    "question",
    [
        "When will the joint lunar research begin?",  # the readout gives no start: 4月10日 is another thing
        "when is that meeting happening",  # the article's meetings have no date; the readout's is another
        "Where will the next trilateral meeting be held?",  # 東京 is where the working group meets
    ],
)
def test_a_japanese_name_does_not_answer_a_trap_about_something_else(step: AnswerStep, question: str) -> None:
    units = rank(step, question, readout_and_article())
    assert not [f for u in units if u.passage < len(readout_paragraphs()) for f in u.fillers]


def test_the_model_declining_is_overruled_by_the_japanese_amount(step: AnswerStep) -> None:
    """Before, "no passage found for it holds an answer of that kind": the Japanese sentence now answers."""
    given = readout_and_article()
    plan = step.plan(AMOUNT_QUESTION, given)
    composed = step.finish(plan, "NOT IN DOCUMENTS", AMOUNT_QUESTION, Trace())
    assert composed.outcome == "evidence", composed.reason
    assert "総額3億ドルを拠出する" in composed.text
    assert composed.citations[0].chunk_id == "c3"
