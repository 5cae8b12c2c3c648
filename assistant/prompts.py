"""Prompt templates live in ``prompts/<name>.yaml``: a system and a user message, with declared inputs.

Placeholders are checked against the declared ``input_variables`` when the file is loaded, so a typo in
a template fails at start-up with the file's name, not mid-answer.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from pathlib import Path

import yaml
from langchain_core.prompts import ChatPromptTemplate

from assistant.errors import PromptError


@dataclass(frozen=True)
class PromptFile:
    name: str
    system: str
    user: str
    input_variables: frozenset[str]
    examples: tuple[tuple[str, str], ...] = ()  # worked (user, assistant) exchanges shown before the question

    def template(self) -> ChatPromptTemplate:
        shots = [m for user, reply in self.examples for m in (("human", user), ("ai", reply))]
        return ChatPromptTemplate.from_messages([("system", self.system), *shots, ("human", self.user)])


def _placeholders(text: str) -> set[str]:
    return {field for _, field, _, _ in string.Formatter().parse(text) if field}


def load_prompt(prompts_dir: Path, name: str) -> PromptFile:
    path = prompts_dir / f"{name}.yaml"
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as err:
        raise PromptError(f"Prompt file {path} is missing.") from err
    except (yaml.YAMLError, UnicodeDecodeError, ValueError) as err:
        raise PromptError(f"Prompt file {path} is not valid YAML: {err}") from err
    if not isinstance(data, dict):
        raise PromptError(f"Prompt file {path} must be a mapping with 'system' and 'user'.")
    missing = [key for key in ("system", "user", "input_variables") if key not in data]
    if missing:
        raise PromptError(f"Prompt file {path} lacks {', '.join(missing)}.")
    system, user = str(data["system"]).strip(), str(data["user"]).strip()
    declared = frozenset(str(v) for v in data["input_variables"])
    try:
        used = _placeholders(system) | _placeholders(user)
    except ValueError as err:
        raise PromptError(f"Prompt file {path} has a malformed placeholder: {err}") from err
    if used != declared:
        raise PromptError(
            f"Prompt file {path}: placeholders {sorted(used)} do not match "
            f"input_variables {sorted(declared)}."
        )
    examples = tuple(_example(path, i, item) for i, item in enumerate(data.get("examples") or []))
    return PromptFile(name=name, system=system, user=user, input_variables=declared, examples=examples)


def _example(path: Path, index: int, item: object) -> tuple[str, str]:
    if not isinstance(item, dict) or not {"user", "assistant"} <= item.keys():
        raise PromptError(f"Prompt file {path}: example {index + 1} needs 'user' and 'assistant'.")
    user, reply = str(item["user"]).strip(), str(item["assistant"]).strip()
    if "{" in user + reply or "}" in user + reply:
        raise PromptError(f"Prompt file {path}: example {index + 1} must not contain braces.")
    return user, reply
