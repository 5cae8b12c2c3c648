"""English words for Japanese ones: the glosses of JMdict (words) and JMnedict (names), loaded on first use.

Word overlap is what tells the evidence that answers from the sentence that only sounds like the question,
and what the support check counts; across languages there is none to count. JMdict gives each Japanese word
its English senses (招待: invitation; 作業部会: working group, task force), JMnedict each name its romanised
forms (石破: Ishiba; トランプ: Trump), so a Japanese sentence carries the English words a question or an
answer about it would use. Read through ``jamdict`` from the SQLite build in ``jamdict-data`` (EDRDG's
dictionaries, CC BY-SA 4.0; measured: 0.5 ms a word, opened in 0.05 s).
"""

from __future__ import annotations

import re
import threading
from typing import Any

from assistant.errors import ModelError
from assistant.japanese import ANALYSER, JapaneseAnalyser, has_japanese, is_content_pos

_CACHE_LIMIT = 50_000
# A word's first sense in its first two entries (JMdict orders senses by use: 大統領 is "president" before it
# is "boss, buddy, mate"), and the first sense of its first three names; later senses matched words the
# sentence does not mean.
_ENTRIES, _NAMES = 2, 3
_PARENTHESES = re.compile(r"\([^)]*\)")
_WORD = re.compile(r"[a-z][a-z'-]*[a-z]|[a-z]")
# Gloss words that carry no sense of their own ("to do", "the act of", "(something) of")
_FILLER = frozenset(
    "a an the to of in on at for by with as or and be is one's someone something etc oneself do act".split()
)


class Lexicon:
    """JMdict and JMnedict glosses of Japanese words, cached; one connection for each thread that looks up."""

    def __init__(self) -> None:
        self._local = threading.local()  # SQLite connections stay in the thread that opened them
        self._glosses: dict[str, frozenset[str]] = {}

    def _loaded(self) -> Any:
        dictionary = getattr(self._local, "dictionary", None)
        if dictionary is None:
            try:
                import jamdict_data
                from jamdict import Jamdict
            except ImportError as err:
                raise ModelError(
                    "The Japanese-English dictionary is missing: pip install jamdict==0.1a11.post2 "
                    "jamdict-data==1.5"
                ) from err
            path = jamdict_data.JAMDICT_DB_PATH
            dictionary = Jamdict(db_file=path, jmnedict_file=path, kd2_file=None, auto_config=False)
            self._local.dictionary = dictionary
        return dictionary

    def glosses(self, word: str, name: bool = False) -> frozenset[str]:
        """The English words of ``word``'s senses, lower case (empty for a word neither dictionary has); with
        ``name`` (a proper noun), its romanised forms too."""
        key = f"{word}\0{name}"
        known = self._glosses.get(key)
        if known is not None:
            return known
        found = self._loaded().lookup(word, strict_lookup=True, lookup_chars=False, lookup_ne=name)
        texts = [
            g.text for entry in found.entries[:_ENTRIES] for sense in entry.senses[:1] for g in sense.gloss
        ]
        if name:  # a name's romanised form, not what it is ("Luoyang, China" for 東京: a city of that name)
            names = found.names[:_NAMES]
            texts += [
                g.text.split(",")[0] for entry in names for sense in entry.senses[:1] for g in sense.gloss
            ]
        words = frozenset(
            w
            for text in texts
            for w in _WORD.findall(_PARENTHESES.sub(" ", text).lower())
            if w not in _FILLER
        )
        if len(self._glosses) < _CACHE_LIMIT:
            self._glosses[key] = words
        return words


LEXICON = Lexicon()  # opens nothing until the first Japanese word


_SCALES = ((10**12, "trillion"), (10**9, "billion"), (10**6, "million"), (10**3, "thousand"))
_MONTHS = "january february march april may june july august september october november december".split()


def number_words(text: str, analyser: JapaneseAnalyser = ANALYSER) -> set[str]:
    """The words an English sentence gives the numbers of Japanese ``text`` in: 3億 -> 300000000, 300,000,000,
    300 million; 4月 -> april; 10日 -> 10. Sudachi reads the numerals (３億, 三億, 1,500万 alike)."""
    words = analyser.words(text)
    found: set[str] = set()
    for i, word in enumerate(words):
        if word.pos[1] != "数詞" or not word.normal.isdecimal():
            continue
        value = int(word.normal)
        found |= {str(value), f"{value:,}"}
        scale = next(((size, name) for size, name in _SCALES if value >= size), None)
        if scale:
            found |= {f"{value / scale[0]:g}", scale[1]}
        unit = words[i + 1].text if i + 1 < len(words) else ""
        if unit == "月" and 1 <= value <= 12:
            found.add(_MONTHS[value - 1])
    return found


def japanese_forms(text: str, analyser: JapaneseAnalyser = ANALYSER, lexicon: Lexicon = LEXICON) -> set[str]:
    """Every word of Japanese ``text`` to look an English or a Japanese word up in: its content words, their
    glosses and its numbers in English."""
    terms = japanese_terms(text, analyser, lexicon)
    return {form for term in terms for form in term} | number_words(text, analyser)


def japanese_terms(
    text: str, analyser: JapaneseAnalyser = ANALYSER, lexicon: Lexicon = LEXICON
) -> list[tuple[str, ...]]:
    """Each content word of Japanese ``text`` (a name's parts apart: トランプ, 大統領), with its normalised
    form and its English glosses: (招待, invitation); (石破, ishiba, ishiwa)."""
    terms: dict[str, tuple[str, ...]] = {}
    for word in analyser.words(text):
        for unit in word.parts or (word,):
            if unit.text not in terms and is_content_pos(unit.pos) and has_japanese(unit.text):
                # a word in hiragana alone is spelt like its homophones (こと: 事 "thing", 古都 "ancient
                # capital"): which one is meant, the dictionary cannot tell
                hiragana = all("\u3041" <= c <= "\u309f" for c in unit.text)
                glosses = (
                    frozenset() if hiragana else lexicon.glosses(unit.text, name=unit.pos[1] == "固有名詞")
                )
                terms[unit.text] = tuple(dict.fromkeys((unit.text, unit.normal, *sorted(glosses))))
    return list(terms.values())
