"""From a thumbs-down answer to a test case: build the entry, validate it with the whole question set the way
``assistant eval`` does, and append it atomically, keeping the previous file as ``<name>.bak``.

The file is appended to as text, so its comments and layout stay as staff wrote them.
"""

from __future__ import annotations

import os
import re
import shutil
import threading
from pathlib import Path
from typing import Any

import yaml

from assistant.errors import EvalSetError
from assistant.evalset import EvalCase, load_eval_set

_WRITE_LOCK = threading.Lock()


def parse_key_facts(text: str) -> list[list[str]]:
    """One fact per line; alternatives separated by '|' ("guarantee | commitment")."""
    facts = []
    for line in text.splitlines():
        alternatives = [a.strip() for a in line.split("|") if a.strip()]
        if alternatives:
            facts.append(alternatives)
    return facts


def case_entry(
    case_id: str,
    question: str,
    answerable: bool,
    key_facts: str = "",
    reference: str = "",
    source: str = "",
    quote: str = "",
    history: list[str] | None = None,
) -> dict[str, Any]:
    """The YAML entry of a new case: answerable with key facts and a gold passage, or to be refused."""
    turns = [*(history or []), question]
    entry: dict[str, Any] = {"id": case_id.strip()}
    entry["category"] = ("followup" if history else "answerable") if answerable else "unanswerable"
    if history:
        entry["conversation"] = turns
    else:
        entry["question"] = question
    if answerable:
        entry["reference"] = reference.strip()
        entry["key_facts"] = parse_key_facts(key_facts)
        entry["reference_contexts"] = [{"source": source, "quote": " ".join(quote.split())}]
    entry["answerable"] = answerable
    return entry


def suggest_id(question: str, answerable: bool, taken: set[str]) -> str:
    words = re.findall(r"[a-z0-9]+", question.lower())[:4] or ["case"]
    stem = f"{'ans' if answerable else 'unans'}-fb-{'-'.join(words)}"
    number = 1
    while f"{stem}-{number:02d}" in taken:
        number += 1
    return f"{stem}-{number:02d}"


def append_case(path: Path, entry: dict[str, Any]) -> EvalCase:
    """Append ``entry`` to the question set at ``path`` if the whole file stays valid; returns the case.

    Raises ``EvalSetError`` (the file untouched) when the entry is invalid, e.g. a duplicate id or an
    answerable case without key facts.
    """
    block = yaml.safe_dump([entry], sort_keys=False, allow_unicode=True, width=110)
    with _WRITE_LOCK:
        old = path.read_text(encoding="utf-8") if path.exists() else ""
        new = (old.rstrip("\n") + "\n\n" if old.strip() else "") + block
        staged = path.with_name(f".{path.name}.new")
        staged.write_text(new, encoding="utf-8")
        try:
            cases = load_eval_set(staged)
        except EvalSetError as err:
            staged.unlink(missing_ok=True)
            raise EvalSetError(str(err).replace(staged.name, path.name)) from err
        if old:
            shutil.copy2(path, path.with_name(path.name + ".bak"))
        with staged.open("rb") as handle:
            os.fsync(handle.fileno())
        os.replace(staged, path)
    return cases[-1]
