"""The test question set (``eval/questions.yaml``) and its gate (``eval/thresholds.yaml``), validated.

Staff edit these files by hand, so every problem is reported with the file, the case (id, or entry number
when the id itself is the problem) and the field, e.g. ``questions.yaml: case 'ans-tariff-01' (entry 6),
field 'key_facts': entry 2 is empty``.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml

from assistant.errors import EvalSetError

_FIELDS = frozenset(
    {
        "id",
        "category",
        "question",
        "conversation",
        "answerable",
        "reference",
        "key_facts",
        "reference_contexts",
        "tags",
    }
)


@dataclass(frozen=True)
class GoldContext:
    """A gold passage: the document it is in and a verbatim quote from it."""

    source: str
    quote: str


@dataclass(frozen=True)
class EvalCase:
    """One test case. ``question`` is the scored question; ``setup`` the earlier user turns, if any."""

    id: str
    category: str
    question: str
    answerable: bool
    setup: tuple[str, ...] = ()
    reference: str = ""
    key_facts: tuple[tuple[str, ...], ...] = ()  # each group: any one alternative must appear
    reference_contexts: tuple[GoldContext, ...] = ()
    tags: tuple[str, ...] = ()  # failure classes the case probes (typed-country, false-premise...)

    @property
    def turns(self) -> tuple[str, ...]:
        return (*self.setup, self.question)


@dataclass(frozen=True)
class Threshold:
    metric: str
    bound: str  # "min" (value must be >= limit) or "max" (value must be <= limit)
    limit: float

    def passes(self, value: float | None) -> bool:
        if value is None:
            return False
        return value >= self.limit if self.bound == "min" else value <= self.limit

    def describe(self) -> str:
        return f"{self.metric} {'>=' if self.bound == 'min' else '<='} {self.limit:g}"


@dataclass
class _Where:
    path: Path
    index: int
    case_id: str | None = None

    def fail(self, name: str, message: str) -> EvalSetError:
        who = f"case {self.case_id!r} (entry {self.index})" if self.case_id else f"entry {self.index}"
        return EvalSetError(f"{self.path.name}: {who}, field {name!r}: {message}")


def _read_yaml(path: Path, what: str) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as err:
        raise EvalSetError(f"The {what} {path} does not exist.") from err
    except (yaml.YAMLError, UnicodeDecodeError) as err:
        raise EvalSetError(f"The {what} {path} is not valid YAML: {err}") from err


def _text(where: _Where, name: str, value: Any) -> str:
    if not isinstance(value, str | int | float) or isinstance(value, bool) or not str(value).strip():
        raise where.fail(name, f"must be non-empty text, got {value!r}")
    return str(value).strip()


def _key_facts(where: _Where, value: Any) -> tuple[tuple[str, ...], ...]:
    if not isinstance(value, list) or not value:
        raise where.fail("key_facts", "must be a non-empty list of facts, each a list of alternatives")
    groups: list[tuple[str, ...]] = []
    for n, group in enumerate(value, start=1):
        alternatives = group if isinstance(group, list) else [group]
        if not alternatives:
            raise where.fail("key_facts", f"fact {n} is an empty list")
        kept: list[str] = []
        for alt in alternatives:
            if not isinstance(alt, str | int | float) or isinstance(alt, bool) or not str(alt).strip():
                raise where.fail("key_facts", f"fact {n} has an empty or non-text alternative {alt!r}")
            kept.append(str(alt))  # spaces are kept on purpose: " ai " must not match "said"
        groups.append(tuple(kept))
    return tuple(groups)


def _contexts(where: _Where, value: Any) -> tuple[GoldContext, ...]:
    if not isinstance(value, list) or not value:
        raise where.fail("reference_contexts", "must be a non-empty list of {source, quote}")
    found: list[GoldContext] = []
    for n, item in enumerate(value, start=1):
        if not isinstance(item, Mapping):
            raise where.fail("reference_contexts", f"item {n} must be a mapping with source and quote")
        missing = [k for k in ("source", "quote") if not str(item.get(k) or "").strip()]
        if missing:
            raise where.fail("reference_contexts", f"item {n} lacks {' and '.join(missing)}")
        found.append(GoldContext(str(item["source"]).strip(), str(item["quote"])))
    return tuple(found)


def _tags(where: _Where, entry: Mapping[str, Any]) -> tuple[str, ...]:
    value = entry.get("tags", [])
    if not isinstance(value, list):
        raise where.fail("tags", f"must be a list of words, got {value!r}")
    return tuple(_text(where, "tags", tag) for tag in value)


def _case(where: _Where, entry: Any, seen: set[str]) -> EvalCase:
    if not isinstance(entry, Mapping):
        raise where.fail("id", f"each case must be a mapping of fields, got {type(entry).__name__}")
    case_id = _text(where, "id", entry.get("id"))
    if case_id in seen:
        raise where.fail("id", f"{case_id!r} is used by an earlier case; ids must be unique")
    where.case_id = case_id
    unknown = sorted(str(k) for k in entry if k not in _FIELDS)
    if unknown:
        raise where.fail(unknown[0], f"unknown field (known: {', '.join(sorted(_FIELDS))})")
    category = _text(where, "category", entry.get("category"))
    if ("question" in entry) == ("conversation" in entry):
        raise where.fail("question", "give exactly one of 'question' or 'conversation'")
    if "question" in entry:
        turns = [_text(where, "question", entry["question"])]
    else:
        raw = entry["conversation"]
        if not isinstance(raw, list) or not raw:
            raise where.fail("conversation", "must be a non-empty list of user turns")
        turns = [_text(where, "conversation", turn) for turn in raw]
    answerable = entry.get("answerable")
    if not isinstance(answerable, bool):
        raise where.fail("answerable", f"must be true or false, got {answerable!r}")
    case = EvalCase(case_id, category, turns[-1], answerable, tuple(turns[:-1]), tags=_tags(where, entry))
    if not answerable and not any(k in entry for k in ("reference", "key_facts", "reference_contexts")):
        return case
    return replace(
        case,
        reference=_text(where, "reference", entry.get("reference")),
        key_facts=_key_facts(where, entry.get("key_facts")),
        reference_contexts=_contexts(where, entry.get("reference_contexts")),
    )


def load_eval_set(path: Path) -> list[EvalCase]:
    """Read and validate the question set; raise ``EvalSetError`` naming the case and field."""
    data = _read_yaml(path, "question set")
    if isinstance(data, Mapping) and "cases" in data:
        data = data["cases"]
    if not isinstance(data, list) or not data:
        raise EvalSetError(f"{path.name}: expected a non-empty list of cases (one '- id: ...' entry each).")
    cases: list[EvalCase] = []
    seen: set[str] = set()
    for index, entry in enumerate(data, start=1):
        case = _case(_Where(path, index), entry, seen)
        seen.add(case.id)
        cases.append(case)
    return cases


def load_thresholds(path: Path, known: Collection[str] = ()) -> list[Threshold]:
    """Read the gate: ``min: {metric: value}`` (at least) and ``max: {metric: value}`` (at most)."""
    data = _read_yaml(path, "thresholds file")
    if data is None:
        return []
    if not isinstance(data, Mapping) or set(data) - {"min", "max"}:
        raise EvalSetError(f"{path.name}: expected sections 'min:' and/or 'max:' of metric: value.")
    found: list[Threshold] = []
    for bound in ("min", "max"):
        section = data.get(bound) or {}
        if not isinstance(section, Mapping):
            raise EvalSetError(f"{path.name}: section {bound!r} must map metric names to numbers.")
        for metric, limit in section.items():
            if known and metric not in known:
                raise EvalSetError(
                    f"{path.name}: section {bound!r}, unknown metric {metric!r} (known: {', '.join(known)})"
                )
            if not isinstance(limit, int | float) or isinstance(limit, bool):
                raise EvalSetError(
                    f"{path.name}: section {bound!r}, metric {metric!r}: {limit!r} is not a number"
                )
            found.append(Threshold(str(metric), bound, float(limit)))
    return found


@dataclass(frozen=True)
class GateResult:
    threshold: Threshold
    value: float | None

    @property
    def passed(self) -> bool:
        return self.threshold.passes(self.value)


def apply_gate(summary: dict[str, float | None], thresholds: Sequence[Threshold]) -> list[GateResult]:
    """One result per threshold; a metric the run could not measure (None) fails its threshold."""
    return [GateResult(t, summary.get(t.metric)) for t in thresholds]
