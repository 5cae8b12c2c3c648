"""Query expansion from a staff-editable glossary (``glossary.yaml``): acronyms, metonyms, spellings.

A small embedding model does not know that "Tokyo" stands for Japan in a news story; a keyword index
certainly does not. Adding the glossary's words to the search query fixes both. The model answers the plain
question: with the words beside it, it echoed them ("The President and Prime Minister are sitting down
together" for "Which two heads of government...") and lost key facts in three seed questions.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from assistant.errors import AssistantError


class Glossary:
    def __init__(self, entries: dict[str, list[str]]) -> None:
        self.entries = entries
        self._patterns = [
            (re.compile(r"(?<!\w)" + re.escape(term) + r"(?!\w)", re.IGNORECASE), words)
            for term, words in entries.items()
        ]

    @classmethod
    def load(cls, path: Path | None) -> Glossary:
        if path is None or not path.is_file():
            return cls({})
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (yaml.YAMLError, UnicodeDecodeError) as err:
            raise AssistantError(f"Glossary {path} is not valid YAML: {err}") from err
        if not isinstance(data, dict):
            raise AssistantError(f"Glossary {path} must map terms to lists of words.")
        entries = {}
        for term, words in data.items():
            if isinstance(words, str):
                words = [words]
            if not isinstance(words, list):
                raise AssistantError(f"Glossary {path}: '{term}' must map to a list of words.")
            entries[str(term)] = [str(w) for w in words]
        return cls(entries)

    def aliases(self, word: str) -> list[str]:
        """What ``word`` may stand for, any case: an entry's words for its term ("Tokyo" -> Japan, Japanese),
        and for one of those words, its term and the other words ("American" -> Washington, United States)."""
        low = word.lower()
        found: list[str] = []
        for term, words in self.entries.items():
            group = [term, *words]
            if low in (w.lower() for w in group):
                found += [w for w in group if w.lower() != low and w not in found]
        return found

    def expand(self, query: str) -> str:
        """``query`` plus the glossary words for the terms it uses (each word once, none it already has)."""
        extra: list[str] = []
        lowered = query.lower()
        for pattern, words in self._patterns:
            if pattern.search(query):
                extra += [w for w in words if w.lower() not in lowered and w not in extra]
        return f"{query} ({', '.join(extra)})" if extra else query
