"""Japanese text (issue 18): the keyword index finds Japanese words, evidence windows end at 。！？ with exact
spans, and English text is tokenised and parsed exactly as before. Real Sudachi, real spaCy, real BM25."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest

from assistant.answering import TextAnalyser
from assistant.answering.evidence import EvidenceRanker, EvidenceUnit
from assistant.answering.language import PIPELINE
from assistant.answering.terms import TermMatcher
from assistant.chunking import paragraph_spans
from assistant.glossary import Glossary
from assistant.japanese import JapaneseAnalyser
from assistant.loaders import load_document
from assistant.retrieval import KeywordIndex, _stem, terms
from assistant.sentence_encoder import E5Encoder
from assistant.types import Passage
from tests.conftest import ROOT, SEED, run_in_fresh_process

if TYPE_CHECKING:
    from spacy.tokens import Doc
    from sudachipy import Dictionary

READOUT = ROOT / "corpus" / "meeting-readout-ja.md"


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
    run_in_fresh_process(script)


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


def race(analyser: CountingAnalyser, read: Callable[[str], object]) -> None:
    """Eight threads read the readout at once through a fresh analyser: one dictionary load, same results."""
    paragraphs = readout_paragraphs()
    results: dict[int, list[object]] = {}

    def work(n: int) -> None:
        analyser.start.wait()
        results[n] = [read(p) for p in paragraphs * 20]

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert analyser.loads == 1
    expected = [read(p) for p in paragraphs * 20]
    assert all(results[n] == expected for n in range(8))


def test_threads_share_one_lazily_loaded_dictionary() -> None:
    analyser = CountingAnalyser()
    assert not analyser.loaded
    race(analyser, analyser.content_words)


# --- evidence windows ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ranker(analyser: TextAnalyser) -> EvidenceRanker:
    """Windows need only spaCy: the evidence model is never loaded here."""
    return EvidenceRanker(analyser, E5Encoder(), TermMatcher(Glossary({})))


def windows_of(ranker: EvidenceRanker, text: str) -> list[EvidenceUnit]:
    passage = Passage("c0", text, READOUT.name, "Readout", 0, 0, len(text), 0.5)
    units = ranker.windows(0, passage)
    for unit in units:
        assert text[unit.start : unit.end] == unit.text, unit
    return units


@pytest.mark.parametrize("separator", ["", "\n\n", " "])
def test_japanese_windows_end_at_the_full_stop_with_exact_spans(
    ranker: EvidenceRanker, separator: str
) -> None:
    sentences = readout_paragraphs()
    units = windows_of(ranker, separator.join(sentences))
    assert [u.text for u in units] == sentences


def test_japanese_windows_end_at_exclamation_and_question_marks(ranker: EvidenceRanker) -> None:
    units = windows_of(ranker, "本当に合意したのか？はい、合意した！詳細は後日発表する。")
    assert [u.text for u in units] == ["本当に合意したのか？", "はい、合意した！", "詳細は後日発表する。"]


def test_a_japanese_quotation_stays_with_its_sentence(ranker: EvidenceRanker) -> None:
    units = windows_of(ranker, "石破総理は「日米同盟は重要だ。」と述べた。トランプ大統領も同意した。")
    assert [u.text for u in units] == [
        "石破総理は「日米同盟は重要だ。」と述べた。",
        "トランプ大統領も同意した。",
    ]


def test_english_and_japanese_sentences_in_one_passage(ranker: EvidenceRanker) -> None:
    """Japanese is cut at its stops; English after it is cut by the parser, as before."""
    units = windows_of(
        ranker,
        "Trump said it was an honor. 石破総理は万博に招待した。トランプ大統領は受け入れた。 Then Abe spoke.",
    )
    assert [u.text for u in units] == [
        "Trump said it was an honor.",
        "石破総理は万博に招待した。",
        "トランプ大統領は受け入れた。",
        "Then Abe spoke.",
    ]


def test_english_is_parsed_exactly_as_by_the_stock_pipeline(analyser: TextAnalyser) -> None:
    import spacy

    stock = spacy.load(PIPELINE)

    def parsed(doc: Doc) -> list[tuple[object, ...]]:
        return [
            (t.text, t.idx, t.tag_, t.dep_, t.head.i, t.lemma_, t.is_sent_start, t.ent_type_) for t in doc
        ]

    for text in [SEED.read_text(encoding="utf-8"), *seed_paragraphs()]:
        assert parsed(analyser.parse(text)) == parsed(stock(text))
