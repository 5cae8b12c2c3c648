"""Japanese text (issue 18): the keyword index finds Japanese words, and English text is tokenised exactly as
before. Real Sudachi, real BM25."""

from __future__ import annotations

import re
import subprocess
import sys
import threading
from typing import TYPE_CHECKING

import pytest

from assistant.chunking import paragraph_spans
from assistant.japanese import JapaneseAnalyser
from assistant.loaders import load_document
from assistant.retrieval import KeywordIndex, _stem, terms
from tests.conftest import ROOT, SEED

if TYPE_CHECKING:
    from sudachipy import Dictionary

READOUT = ROOT / "tests" / "data" / "japanese" / "meeting-readout-ja.md"


def readout_paragraphs() -> list[str]:
    """The readout's body, a paragraph a sentence, as the loader reads it (front matter removed)."""
    text = load_document(READOUT, READOUT.name).text
    return [p.strip() for p in text.split("\n\n") if p.strip()]


def seed_paragraphs() -> list[str]:
    text = SEED.read_text(encoding="utf-8")
    return [text[a:b] for a, b in paragraph_spans(text)]


# --- the keyword index -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "answer_starts"),
    [
        ("半導体", "経済分野では"),
        ("万博", "石破総理は"),
        ("非核化", "両首脳は、北朝鮮"),
        ("3億ドル", "宇宙分野では"),
        ("4月10日", "経済分野では"),
        ("石破総理はトランプ大統領をどこに招待しましたか？", "石破総理は"),
        ("月面探査の共同研究に両国はいくら拠出しますか？", "宇宙分野では"),
        ("日米同盟", "冒頭、"),
    ],
)
def test_a_japanese_query_finds_its_paragraph_among_japanese_and_english_ones(
    query: str, answer_starts: str
) -> None:
    texts = readout_paragraphs() + seed_paragraphs()
    index = KeywordIndex([f"c{i}" for i in range(len(texts))], texts)
    best = index.search(query, 3)
    assert best, f"nothing found for {query}"
    assert texts[int(best[0][0][1:])].startswith(answer_starts), [texts[int(c[1:])][:20] for c, _ in best]


def test_english_queries_still_find_their_paragraphs_beside_the_japanese_ones() -> None:
    texts = readout_paragraphs() + seed_paragraphs()
    index = KeywordIndex([f"c{i}" for i in range(len(texts))], texts)
    best = index.search("joint ventures in AI and semiconductors", 1)
    assert "joint ventures in critical technologies" in texts[int(best[0][0][1:])]


def test_japanese_words_are_content_words_in_their_dictionary_form() -> None:
    words = terms("両首脳は、北朝鮮の完全な非核化に向けて、日米で緊密に連携していくことで一致した。")
    assert {"首脳", "北朝鮮", "向ける", "日米", "連携", "一致"} <= set(words)  # 向けて -> 向ける
    particles_auxiliaries_punctuation = {
        "は",
        "の",
        "な",
        "に",
        "で",
        "て",
        "た",
        "、",
        "。",
        "し",
        "する",
        "いく",
    }
    assert not particles_auxiliaries_punctuation & set(words)
    assert "半導体" in terms("半導体のサプライチェーン")  # one word, not 半 alone


def test_amounts_and_dates_keep_their_numbers() -> None:
    assert {"3億", "ドル", "総額"} <= set(terms("総額3億ドルを拠出する"))
    assert {"4", "月", "10", "日", "東京"} <= set(terms("4月10日に東京で"))
    assert terms("３億ドル") == terms("3億ドル")  # full-width digits read as the same number


def test_english_text_tokenises_exactly_as_before() -> None:
    sentence = (
        "The leaders discussed semiconductors, LNG exports and U.S. tariffs on Friday; Ishiba's 2025 visit."
    )
    want = [
        "leader",
        "discuss",
        "semiconductor",
        "lng",
        "export",
        "tariff",
        "friday",
        "ishiba",
        "2025",
        "visit",
    ]
    assert terms(sentence) == want
    for text in seed_paragraphs():  # the rule as it always was: \w+, lower case, the small stemmer
        assert terms(text) == [s for w in re.findall(r"\w+", text.lower()) if (s := _stem(w)) is not None]


def test_english_text_never_loads_the_japanese_analyser() -> None:
    """In a fresh process: English costs nothing; the first Japanese text loads the analyser."""
    script = (
        "import sys\n"
        "from assistant.retrieval import terms\n"
        "terms('Trump met Ishiba in Tokyo on April 10 — “a great honor”.')\n"
        "assert 'sudachipy' not in sys.modules, 'loaded for English'\n"
        "assert terms('万博に招待した') == ['万博', '招待']\n"
        "assert 'sudachipy' in sys.modules\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]


class CountingAnalyser(JapaneseAnalyser):
    """The real analyser, counting dictionary loads, each slow enough for racing threads to overlap."""

    def __init__(self) -> None:
        super().__init__()
        self.loads = 0
        self.start = threading.Barrier(8)

    def _load(self) -> Dictionary:
        self.loads += 1
        threading.Event().wait(0.2)
        return super()._load()


def test_threads_share_one_lazily_loaded_dictionary() -> None:
    analyser = CountingAnalyser()
    assert not analyser.loaded
    paragraphs = readout_paragraphs()
    results: dict[int, list[list[str]]] = {}

    def work(n: int) -> None:
        analyser.start.wait()
        results[n] = [analyser.content_words(p) for p in paragraphs * 20]

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert analyser.loads == 1
    expected = [analyser.content_words(p) for p in paragraphs * 20]
    assert all(results[n] == expected for n in range(8))
