"""Japanese words for the keyword index: Sudachi's morphological analysis, loaded on the first Japanese text.

Japanese is written without spaces, so ``\\w+`` takes a whole clause ("両国が月面探査の共同研究に...") for one
word and BM25 can never match a word inside it. Sudachi (``sudachipy`` with ``sudachidict-core``) cuts it
into words, each with its part of speech and dictionary form.

Chosen over MeCab (``fugashi`` + ``unidic-lite``) by measurement on corpus/meeting-readout-ja.md
(six one-sentence paragraphs): 0.10 ms a paragraph for the content words against 0.16 ms; UniDic's short
units cut 半導体 into 半 + 導体 and 3億 into 3 + 億, where Sudachi keeps both whole (and reads ３億 as 3億);
UniDic's lemma is a reading for names (石破 -> イシバ) or carries a gloss (ドル-dollar); and unidic-lite's
dictionary is UniDic 2.1.2 of 2013, sudachidict-core is kept up to date (20261015 here). Loading takes ~60 ms
(MeCab ~4 ms), once per process, and only when Japanese text turns up.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

from assistant.errors import ModelError

if TYPE_CHECKING:
    from sudachipy import Dictionary, Morpheme, Tokenizer

# Kana, kanji (with 々 〆 〇), and the CJK punctuation and full-width forms Japanese is typed with.
JAPANESE = re.compile(r"[\u3000-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef]")

# Parts of speech that carry no content: particles, auxiliaries, punctuation and symbols, white space,
# pronouns (どこ, 誰: the "where" and "who" of the English stop words), adnominals (この, その),
# conjunctions and interjections.
_FUNCTION_POS = frozenset(
    {"助詞", "助動詞", "補助記号", "記号", "空白", "代名詞", "連体詞", "接続詞", "感動詞"}
)
# Verbs and adjectives that can be auxiliary (する, ある, いる, なる, できる, ない): Japanese's "do", "be"
# and "have", in nearly every sentence; as stop words in English, they would only add noise here.
_AUXILIARY_USE = "非自立可能"
# Sudachi refuses an input over 49,149 bytes; 8,000 characters stay under it even at 4 bytes a character
# and after its normalisation lengthens some (㍻ -> 平成).
_MAX_CHARS = 8000


@dataclass(frozen=True)
class Word:
    """A word of Japanese text as the analyser reads it: its span in the text, its part of speech (six
    fields: 名詞,固有名詞,地名,国,*,*), its normalised form (３億 -> 300000000, ヶ月 -> 箇月), and its
    middle units when it has several (トランプ大統領 -> トランプ, 大統領)."""

    text: str
    start: int
    end: int
    pos: tuple[str, ...]
    normal: str
    parts: tuple[Word, ...] = ()


def has_japanese(text: str) -> bool:
    """Does ``text`` hold Japanese? ASCII is answered without the search (a sixth of what English text costs
    the keyword index to tokenise)."""
    return not text.isascii() and JAPANESE.search(text) is not None


class JapaneseAnalyser:
    """Sudachi, loaded on first use: one dictionary for the process, one tokenizer for each thread (a Sudachi
    tokenizer keeps its working state between calls, so threads do not share one)."""

    def __init__(self) -> None:
        self._dictionary: Dictionary | None = None
        self._lock = threading.Lock()
        self._local = threading.local()

    @property
    def loaded(self) -> bool:
        return self._dictionary is not None

    def _tokenizer(self) -> Tokenizer:
        tokenizer: Tokenizer | None = getattr(self._local, "tokenizer", None)
        if tokenizer is None:
            from sudachipy import SplitMode

            with self._lock:
                if self._dictionary is None:
                    self._dictionary = self._load()
                tokenizer = self._dictionary.tokenizer(mode=SplitMode.B)
            self._local.tokenizer = tokenizer
        return tokenizer

    def _load(self) -> Dictionary:
        try:
            from sudachipy import Dictionary

            return Dictionary(dict="core")
        except (ImportError, OSError) as err:
            raise ModelError(
                "The Japanese analyser is missing: pip install sudachipy==0.7.0 sudachidict-core==20261015"
            ) from err

    def content_words(self, text: str) -> list[str]:
        """The dictionary forms of ``text``'s content words, in order.

        A word is Sudachi's middle unit (半導体, 初会合, 3億), followed by its short units when it has
        several (半, 導体): a query word the analyser cuts otherwise than the paragraph it is in still shares
        its parts with it ("完全な非核化" reads as 非 + 核 + 化, 非核化 alone as one word).
        """
        from sudachipy import SplitMode

        tokenizer = self._tokenizer()
        words: list[str] = []
        for start in range(0, len(text), _MAX_CHARS):
            for morpheme in tokenizer.tokenize(text[start : start + _MAX_CHARS]):
                if not _is_content(morpheme):
                    continue
                words.append(morpheme.dictionary_form())
                parts = morpheme.split(SplitMode.A)
                if len(parts) > 1:
                    words.extend(part.dictionary_form() for part in parts if _is_content(part))
        return words

    def words(self, text: str) -> list[Word]:
        """The words of ``text`` in Sudachi's longest units (日米安全保障条約, トランプ大統領: a name is kept
        whole), each with its exact character span in ``text``."""
        from sudachipy import SplitMode

        tokenizer = self._tokenizer()
        found: list[Word] = []
        for offset in range(0, len(text), _MAX_CHARS):
            for morpheme in tokenizer.tokenize(text[offset : offset + _MAX_CHARS], SplitMode.C):
                parts = morpheme.split(SplitMode.B)
                found.append(
                    _word(morpheme, offset, tuple(_word(p, offset) for p in parts) if len(parts) > 1 else ())
                )
        return found


def _word(morpheme: Morpheme, offset: int, parts: tuple[Word, ...] = ()) -> Word:
    return Word(
        morpheme.surface(),
        offset + morpheme.begin(),
        offset + morpheme.end(),
        tuple(morpheme.part_of_speech()),
        morpheme.normalized_form(),
        parts,
    )


def _is_content(morpheme: Morpheme) -> bool:
    return is_content_pos(morpheme.part_of_speech())


def is_content_pos(pos: tuple[str, ...]) -> bool:
    """Does a word with this part of speech carry content (not a particle, an auxiliary, a symbol...)?"""
    return pos[0] not in _FUNCTION_POS and pos[1] != _AUXILIARY_USE


ANALYSER = JapaneseAnalyser()  # creates nothing until the first Japanese text
