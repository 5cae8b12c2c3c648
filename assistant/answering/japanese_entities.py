"""Named entities of Japanese text, with the labels of the English pipeline (MONEY, DATE, GPE, PERSON...).

The English pipeline reads a Japanese sentence as one token and finds no usable name in it, so a Japanese
window held no filler for a typed question ("How much...?": 3億ドル). The names come from Sudachi's parts of
speech instead, the analyser the keyword index already loads (one dictionary for the process):

- 名詞,固有名詞,人名 -> PERSON (姓 and 名 run together: 岸田 + 文雄; a title Sudachi keeps in the name is
  left out: トランプ大統領 -> トランプ); 地名 -> GPE (東京, 北朝鮮; Sudachi does not tell a city from a
  region, so 太平洋 is GPE too); any other 固有名詞 -> ORG (自民党, NATO, トヨタ自動車), as the English model
  takes an unknown proper noun for one.
- a number (数詞) and the counters after it, labelled by the counter: ドル, 円... MONEY; %, 割 PERCENT;
  年, 月, 日... DATE; 時, 分... TIME; 第 before it ORDINAL; any other counter QUANTITY (GiNZA's mapping of
  its N_Person, N_Product... counts); a number alone CARDINAL. An era name before a year belongs to the date
  (令和7年).
- a GPE right before で, にて, において or における is where something happens: "locative", as "in Tokyo".
- English words between Japanese ones are the English pipeline's to name (Sudachi takes "Washington" for a
  person): an entity counts when it holds Japanese or stands right next to it.

About 0.3 ms a sentence, on the dictionary the keyword index loads (~0.07 s, once, on the first Japanese).
Sudachi has no organisation class (外務省 is a common noun to it) and no event class (大阪・関西万博 gives
大阪 and 関西). GiNZA (ja-ginza 5.3.0) labels both, and its ENE -> OntoNotes mapping gives these labels, but
every GiNZA 5 release requires SudachiPy < 0.7, and the keyword index pins 0.7.0; measured beside it anyway:
2.3 s to load, ~40 ms a sentence, 76 MB of model.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from assistant.japanese import ANALYSER, JapaneseAnalyser, Word, has_japanese

# Counters by the label they give a number, by Sudachi's normalised form (ヶ月 and カ月 are 箇月, ％ is %).
# 元 is not a currency here: Sudachi reads 安倍晋三元首相 as ...三 + 元 + 首相 ("former prime minister").
_UNITS = {
    "MONEY": frozenset("ドル 円 ユーロ ポンド ウォン 人民元 ルーブル フラン".split()),
    "PERCENT": frozenset("% パーセント 割".split()),
    "DATE": frozenset("年 月 日 年度 世紀 週 週間 日間 年間 箇月 年代 半期 四半期".split()),
    "TIME": frozenset("時 分 秒 時間 時半 分間 秒間".split()),
}
_LABEL_ORDER = ("MONEY", "PERCENT", "DATE", "TIME")  # 3億ドル/年: MONEY, 2025年4月: DATE
_TIME_OF_DAY = frozenset({"午前", "午後"})  # before a time: 午後3時
_ORDINAL = "第"
_KANJI_DIGITS = frozenset("〇一二三四五六七八九十百千")
_LOCATIVE = frozenset({"で", "にて"})  # 東京で, 東京では, ニューヨークにて
_SET_IN = frozenset({"おく"})  # に + おいて / おける: 東京において


class Entity(NamedTuple):
    text: str
    label: str
    start: int  # character span [start, end) in the text given
    end: int
    locative: bool = False  # where something happens: 東京で


def _is_number(word: Word) -> bool:
    return word.pos[1] == "数詞"


def _is_counter(word: Word) -> bool:
    """A word that counts the number before it: 億 ドル, 4 月, 3 人, 21 世紀."""
    return (
        word.pos[2] in ("助数詞可能", "助数詞")
        or (word.pos[0] == "接尾辞" and word.pos[1] == "名詞的")
        or any(word.normal in units for units in _UNITS.values())
    )


def _is_name(word: Word, kind: str) -> bool:
    return word.pos[1] == "固有名詞" and word.pos[2] == kind


def _is_given_name(word: Word) -> bool:
    return _is_name(word, "人名") and word.pos[3] in ("名", "一般")


def _amount_label(words: Sequence[Word]) -> str:
    counters = {w.normal for w in words if not _is_number(w)}
    for label in _LABEL_ORDER:
        if counters & _UNITS[label]:
            return label
    if words[0].text == _ORDINAL:
        return "ORDINAL"
    return "QUANTITY" if any(_is_counter(w) for w in words[1:]) else "CARDINAL"


def _located(words: Sequence[Word], after: int) -> bool:
    """Does the word at ``after`` (right after a place) say the place is where something happens?"""
    if after >= len(words):
        return False
    word = words[after]
    if word.text in _LOCATIVE and word.pos[:2] == ("助詞", "格助詞"):
        return True
    following = words[after + 1] if after + 1 < len(words) else None
    return word.text == "に" and following is not None and following.normal in _SET_IN


def _person_span(run: Sequence[Word]) -> tuple[int, int]:
    """The span of a run of name words without a title Sudachi keeps in a name (トランプ大統領)."""
    first = [p for p in run[0].parts if _is_name(p, "人名")] or [run[0]]
    last = [p for p in run[-1].parts if _is_name(p, "人名")] or [run[-1]]
    return first[0].start, last[-1].end


def entities(text: str, analyser: JapaneseAnalyser = ANALYSER) -> list[Entity]:
    """The named entities of the Japanese in ``text``, in order, with exact spans into it. Names in English
    words between (Sudachi takes "Washington" for a person) are left to the English pipeline: an entity
    counts when it holds Japanese (3億ドル) or stands right next to it (参加国は12だった)."""
    return [e for e in _entities(text, analyser) if _in_japanese(text, e)]


def _in_japanese(text: str, entity: Entity) -> bool:
    return (
        has_japanese(entity.text)
        or (entity.start > 0 and has_japanese(text[entity.start - 1]))
        or (entity.end < len(text) and has_japanese(text[entity.end]))
    )


def _entities(text: str, analyser: JapaneseAnalyser) -> list[Entity]:
    words = analyser.words(text)
    found: list[Entity] = []
    i = 0
    while i < len(words):
        word = words[i]
        nxt = words[i + 1] if i + 1 < len(words) else None
        starts_amount = _is_number(word) or (
            (word.text == _ORDINAL or word.normal in _TIME_OF_DAY) and nxt is not None and _is_number(nxt)
        )
        if starts_amount:
            j = i + 1
            while j < len(words) and (
                _is_number(words[j]) or (_is_counter(words[j]) and _is_number(words[j - 1]))
            ):
                j += 1
            label = _amount_label(words[i:j])
            start = words[i].start
            if label == "DATE" and found and found[-1].label == "ORG" and found[-1].end == start:
                start = found.pop().start  # an era name: 令和7年
            found.append(Entity(text[start : words[j - 1].end], label, start, words[j - 1].end))
            i = j
            continue
        for kind, label in (("人名", "PERSON"), ("地名", "GPE"), ("一般", "ORG")):
            if not _is_name(word, kind):
                continue
            j = i + 1
            while j < len(words) and _is_name(words[j], kind):
                j += 1
            if kind == "人名":  # 晋 + 三: Sudachi cut a given name at a kanji numeral (安倍晋三元首相)
                while (
                    j < len(words)
                    and _is_given_name(words[j - 1])
                    and _is_number(words[j])
                    and set(words[j].text) <= _KANJI_DIGITS
                ):
                    j += 1
                start, end = _person_span(words[i:j])
            else:
                start, end = words[i].start, words[j - 1].end
            locative = label == "GPE" and _located(words, j)
            found.append(Entity(text[start:end], label, start, end, locative))
            i = j
            break
        else:
            i += 1
    return found
