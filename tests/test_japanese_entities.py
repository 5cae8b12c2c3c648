"""Names in Japanese text (issue 18): Sudachi's parts of speech give entities with the English pipeline's
labels (3億ドル MONEY, 4月10日 DATE, 東京 GPE), with exact spans. Real Sudachi."""

from __future__ import annotations

import threading

import pytest

from assistant.answering.japanese_entities import entities
from tests.test_japanese import CountingAnalyser, readout_paragraphs


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
    paragraphs = readout_paragraphs()
    results: dict[int, list[object]] = {}

    def work(n: int) -> None:
        analyser.start.wait()
        results[n] = [entities(p, analyser) for p in paragraphs * 20]

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert analyser.loads == 1
    expected = [entities(p, analyser) for p in paragraphs * 20]
    assert all(results[n] == expected for n in range(8))


def test_english_words_between_are_left_to_the_english_pipeline() -> None:
    """Sudachi takes "Washington" for a person and "Tokyo" for a place of its own: outside Japanese, the
    English pipeline names them."""
    text = (
        "Trump met reporters in Washington; 石破総理は参加国は12だったと述べた。 Tokyo, NATO, $300 million."
    )
    assert [(e.text, e.label) for e in entities(text)] == [("石破", "PERSON"), ("12", "CARDINAL")]
