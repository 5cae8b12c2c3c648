"""The evaluation report: ``report.json``, a self-contained ``report.html`` with plots, ``ragas.jsonl``.

``compare`` works on two report dicts (a previous ``report.json`` and the current one), so any earlier
report can be compared with any later one.
"""

from __future__ import annotations

import base64
import hashlib
import html
import io
import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from itertools import zip_longest
from pathlib import Path
from typing import Any

from assistant.errors import EvalSetError
from assistant.evalset import GateResult
from assistant.evaluation import LOWER_IS_BETTER, METRICS, CaseResult, EvalRun
from assistant.service import Assistant
from assistant.ui_trace import trace_html

REPORT_FORMAT = "meeting-assistant-eval/1"
_UNIT_SCALE = frozenset(m for m in METRICS if m != "errors" and not m.endswith("_s"))  # scores in [0, 1]
_LATENCY_TOLERANCE = 0.10  # latency changes smaller than 10% are noise, not a regression


# --- the data ----------------------------------------------------------------------------------------
def case_record(result: CaseResult) -> dict[str, Any]:
    """One case in report.json: the case as written, the answer, its passages, scores and checks."""
    record: dict[str, Any] = asdict(result.case) | {
        "passed": result.passed,
        "checks": result.checks,
        "scores": result.scores,
        "missing_facts": result.missing,
        "setup_answers": result.setup_answers,
        "error": result.error,
    }
    answer = result.answer
    if answer is not None:
        keep = (
            "text",
            "standalone_question",
            "refused",
            "refusal_reason",
            "draft",
            "unsupported",
            "timings",
            "outcome",
            "trace",
        )
        record |= {("answer" if k == "text" else k): getattr(answer, k) for k in keep}
        record["citations"] = [
            {k: v for k, v in asdict(c).items() if k != "passage"} for c in answer.citations
        ]
        record["retrieved"] = [asdict(p) for p in answer.passages]
    return record


def tag_scores(results: Sequence[CaseResult]) -> dict[str, dict[str, float | int | None]]:
    """Per failure class (a case's tags): cases, passed, key facts (answerable cases), refusal accuracy."""
    tags = sorted({t for r in results for t in r.case.tags})
    table: dict[str, dict[str, float | int | None]] = {}
    for tag in tags:
        rows = [r for r in results if tag in r.case.tags]
        facts = [r.scores["key_facts"] for r in rows if r.scores.get("key_facts") is not None]
        refusals = [r.checks["refusal"] for r in rows if "refusal" in r.checks]
        table[tag] = {
            "cases": len(rows),
            "passed": sum(r.passed for r in rows),
            "key_facts": sum(facts) / len(facts) if facts else None,  # type: ignore[arg-type]
            "refusal_accuracy": sum(refusals) / len(refusals) if refusals else None,
        }
    return table


def report_data(
    run: EvalRun,
    gate: list[GateResult],
    settings: dict[str, Any],
    questions: Path,
    total_seconds: float,
) -> dict[str, Any]:
    by_category: dict[str, dict[str, int]] = defaultdict(lambda: {"cases": 0, "passed": 0})
    for r in run.results:
        by_category[r.case.category]["cases"] += 1
        by_category[r.case.category]["passed"] += int(r.passed)
    refused = sum(1 for r in run.results if r.answer is not None and r.answer.refused)
    return {
        "format": REPORT_FORMAT,
        "started_at": run.started_at,
        "run_seconds": round(run.seconds, 2),
        "total_seconds": round(total_seconds, 2),
        "questions_file": str(questions),
        "questions_sha256": hashlib.sha256(questions.read_bytes()).hexdigest(),
        "settings": settings,
        "counts": {
            "cases": len(run.results),
            "answerable": sum(r.case.answerable for r in run.results),
            "refused": refused,
            "passed": sum(r.passed for r in run.results),
        },
        "summary": run.summary,
        "by_category": dict(by_category),
        "by_tag": tag_scores(run.results),
        "gate": {
            "passed": all(g.passed for g in gate),
            "results": [asdict(g.threshold) | {"value": g.value, "passed": g.passed} for g in gate],
        },
        "cases": [case_record(r) for r in run.results],
    }


def ragas_rows(data: dict[str, Any]) -> list[dict[str, Any]]:
    """RAGAS SingleTurnSample fields. A follow-up is exported as the standalone question it was asked as."""
    return [
        {
            "user_input": c["standalone_question"] if c["setup"] else c["question"],
            "response": c["answer"],
            "retrieved_contexts": [p["text"] for p in c["retrieved"]],
            "reference": c["reference"] or None,
            "reference_contexts": [g["quote"] for g in c["reference_contexts"]] or None,
        }
        for c in data["cases"]
        if c.get("answer") is not None
    ]


def load_report(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as err:
        raise EvalSetError(f"The report to compare with, {path}, does not exist.") from err
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise EvalSetError(f"The report to compare with, {path}, is not valid JSON: {err}") from err
    if not isinstance(data, dict) or not isinstance(data.get("summary"), dict):
        raise EvalSetError(f"{path} is not a report.json written by `assistant eval`.")
    return data


_SETTINGS = "llm_backend top_k hybrid min_relevance chunk_max_tokens n_ctx max_answer_tokens"


def settings_snapshot(assistant: Assistant) -> dict[str, Any]:
    """The settings that change the scores, recorded in the report."""
    s = assistant.settings
    model = s.llm_model if s.llm_backend == "openai" else str(s.gguf_path or "packaged Qwen2.5-Coder-1.5B")
    snapshot = {name: getattr(s, name) for name in (*_SETTINGS.split(), "temperature")}
    return snapshot | {"llm_model": model, "embedding_model": assistant.embeddings.name}


# --- compare -----------------------------------------------------------------------------------------
@dataclass
class Comparison:
    improved: list[str] = field(default_factory=list)  # "metric: old -> new"
    regressed: list[str] = field(default_factory=list)
    cases_improved: list[str] = field(default_factory=list)  # "case-id: check, check"
    cases_regressed: list[str] = field(default_factory=list)
    cases_added: list[str] = field(default_factory=list)
    cases_removed: list[str] = field(default_factory=list)


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def compare(previous: dict[str, Any], current: dict[str, Any]) -> Comparison:
    """What got better and what regressed between two reports: summary metrics and per-case checks."""
    result = Comparison()
    for metric in METRICS:
        old, new = previous["summary"].get(metric), current["summary"].get(metric)
        if old is None or new is None or old == new:
            continue
        if metric.endswith("_s") and abs(new - old) <= _LATENCY_TOLERANCE * max(abs(old), 1e-9):
            continue
        line = f"{metric}: {_fmt(old)} -> {_fmt(new)}"
        (result.improved if (new < old) == (metric in LOWER_IS_BETTER) else result.regressed).append(line)
    before = {c["id"]: c for c in previous.get("cases", [])}
    after = {c["id"]: c for c in current["cases"]}
    result.cases_added = [i for i in after if i not in before]
    result.cases_removed = [i for i in before if i not in after]
    for case_id in (i for i in after if i in before):
        old_checks, new_checks = before[case_id].get("checks", {}), after[case_id]["checks"]
        shared = [k for k in new_checks if k in old_checks]
        better = [k for k in shared if new_checks[k] and not old_checks[k]]
        worse = [k for k in shared if old_checks[k] and not new_checks[k]]
        if better:
            result.cases_improved.append(f"{case_id}: {', '.join(better)}")
        if worse:
            result.cases_regressed.append(f"{case_id}: {', '.join(worse)}")
    return result


def comparison_sections(comparison: Comparison) -> list[tuple[str, list[str]]]:
    return [
        ("Metrics improved", comparison.improved),
        ("Metrics regressed", comparison.regressed),
        ("Cases improved (checks now passing)", comparison.cases_improved),
        ("Cases regressed (checks now failing)", comparison.cases_regressed),
        ("Cases added", comparison.cases_added),
        ("Cases removed", comparison.cases_removed),
    ]


def format_comparison(comparison: Comparison) -> str:
    lines = ["Compared with the previous report:"]
    for title, items in comparison_sections(comparison):
        lines.append(f"  {title}: {len(items) or 'none'}")
        lines += [f"    {item}" for item in items]
    return "\n".join(lines)


def score_rows(data: dict[str, Any]) -> list[tuple[str, str, str, bool | None]]:
    """(metric, value, threshold, passed or None when not gated) for every summary metric."""
    gated = {g["metric"]: g for g in data["gate"]["results"]}
    rows = []
    for metric, value in data["summary"].items():
        g = gated.get(metric)
        limit = f"{'>=' if g['bound'] == 'min' else '<='} {g['limit']:g}" if g else ""
        rows.append((metric, _fmt(value), limit, g["passed"] if g else None))
    return rows


def headline(data: dict[str, Any]) -> str:
    n = data["counts"]
    return (
        f"{n['cases']} cases ({n['answerable']} answerable): {n['passed']} passed every check, "
        f"{n['refused']} refused; run {data['run_seconds']:.0f} s (total {data['total_seconds']:.0f} s)"
    )


def tag_rows(data: dict[str, Any]) -> list[list[str]]:
    return [
        [_e(tag), _e(v["cases"]), _e(v["passed"]), _fmt(v["key_facts"]), _fmt(v["refusal_accuracy"])]
        for tag, v in data.get("by_tag", {}).items()
    ]


def format_summary(data: dict[str, Any]) -> str:
    """The summary table printed after a run: every metric, its threshold and pass/fail."""
    lines = [
        headline(data),
        f"{'metric':<22}{'value':>8}  {'threshold':<12}result",
    ]
    for metric, value, limit, passed in score_rows(data):
        verdict = "" if passed is None else ("PASS" if passed else "FAIL")
        lines.append(f"{metric:<22}{value:>8}  {limit:<12}{verdict}")
    if data.get("by_tag"):
        lines.append(f"{'tag':<22}{'cases':>6}{'passed':>8}{'key facts':>11}{'refusals':>10}")
        for tag, v in data["by_tag"].items():
            facts, refusals = _fmt(v["key_facts"]), _fmt(v["refusal_accuracy"])
            lines.append(f"{tag:<22}{v['cases']:>6}{v['passed']:>8}{facts:>11}{refusals:>10}")
    lines.append(f"Gate: {'PASSED' if data['gate']['passed'] else 'FAILED'}")
    return "\n".join(lines)


# --- plots and files ---------------------------------------------------------------------------------
def _axes(width: float, height: float) -> tuple[Any, Any]:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height))
    return figure, figure.subplots()


def _png(figure: Any) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    return buffer.getvalue()


def plot_scores(data: dict[str, Any]) -> bytes:
    """Bar chart of the 0-1 scores; threshold ticks; bars green/red when gated, grey when not."""
    gated = {g["metric"]: g for g in data["gate"]["results"]}
    rows = [(m, v) for m, v in data["summary"].items() if v is not None and m in _UNIT_SCALE]
    figure, ax = _axes(8, 0.35 * len(rows) + 1)
    colours = [("tab:green" if gated[m]["passed"] else "tab:red") if m in gated else "grey" for m, _ in rows]
    ax.barh([m for m, _ in rows], [v for _, v in rows], color=colours)
    for y, (m, _) in enumerate(rows):
        if m in gated:
            ax.plot([gated[m]["limit"]] * 2, [y - 0.4, y + 0.4], color="black", linewidth=2)
    ax.set_xlim(0, 1)
    ax.invert_yaxis()
    ax.set_title("Scores (black tick: threshold)")
    return _png(figure)


def plot_latency(data: dict[str, Any]) -> bytes:
    figure, ax = _axes(8, 3.5)
    for key, label in (("total_s", "total"), ("first_token_s", "first token")):
        values = [c["scores"][key] for c in data["cases"] if c["scores"].get(key) is not None]
        if values:
            ax.hist(values, bins=20, alpha=0.6, label=f"{label} (n={len(values)})")
    ax.set(xlabel="seconds", ylabel="questions", title="Latency per question")
    if ax.get_legend_handles_labels()[0]:
        ax.legend()
    return _png(figure)


def write_report(data: dict[str, Any], out: Path, comparison: Comparison | None = None) -> dict[str, Path]:
    """Write report.json, report.html, scores.png, latency.png and ragas.jsonl into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    paths = {
        "json": out / "report.json",
        "html": out / "report.html",
        "ragas": out / "ragas.jsonl",
        "scores_png": out / "scores.png",
        "latency_png": out / "latency.png",
    }
    paths["json"].write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")
    rows = ragas_rows(data)
    paths["ragas"].write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    images = {"scores": plot_scores(data), "latency": plot_latency(data)}
    paths["scores_png"].write_bytes(images["scores"])
    paths["latency_png"].write_bytes(images["latency"])
    encoded = {k: base64.b64encode(v).decode("ascii") for k, v in images.items()}
    sections = comparison_sections(comparison) if comparison else None
    paths["html"].write_text(render_html(data, encoded, sections), encoding="utf-8")
    return paths


# --- the HTML page -----------------------------------------------------------------------------------
_CSS = """body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse;
margin:.5em 0}td,th{border:1px solid #ccc;padding:4px 6px;vertical-align:top;text-align:left}
th{background:#f3f3f3}.pass{color:#176f2c;font-weight:600}.fail{color:#b3261e;font-weight:600}
.small{font-size:12px;color:#555}img{max-width:100%}blockquote{margin:2px 0 2px 8px;color:#444}"""


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _verdict(passed: bool) -> str:
    return '<span class="pass">pass</span>' if passed else '<span class="fail">FAIL</span>'


def _table(head: list[str], rows: list[list[str]]) -> str:
    cells = "".join(f"<tr>{''.join(f'<td>{c}</td>' for c in row)}</tr>" for row in rows)
    return f"<table><tr>{''.join(f'<th>{_e(h)}</th>' for h in head)}</tr>{cells}</table>"


def _case_row(c: dict[str, Any]) -> list[str]:
    setup = "".join(
        f'<div class="small">earlier: {_e(q)} &rarr; {_e(a)}</div>'
        for q, a in zip_longest(c["setup"], c["setup_answers"], fillvalue="")
    )
    answer = _e(c.get("answer") or f"error: {c['error']}")
    if c.get("refused"):
        answer += f'<div class="small">refused: {_e(c.get("refusal_reason"))}</div>'
    if c.get("unsupported"):
        answer += f'<div class="small">removed as unsupported: {_e(" | ".join(c["unsupported"]))}</div>'
    if c.get("trace"):
        answer += trace_html(c["trace"])  # "How this answer was made", as the chat shows it
    cited = "".join(
        f"<div>[{_e(x['number'])}] {_e(x['source'])} {_e(x['start'])}-{_e(x['end'])}"
        f"<blockquote>{_e(x['quote'])}</blockquote></div>"
        for x in c.get("citations", [])
    )
    checks = "<br>".join(f"{_e(k)}: {_verdict(v)}" for k, v in c["checks"].items())
    if c["missing_facts"]:
        checks += f'<div class="small">missing: {_e(c["missing_facts"])}</div>'
    numbers = {k: v for k, v in c["scores"].items() if v is not None}
    checks += f'<div class="small">{_e(", ".join(f"{k} {v:.2f}" for k, v in numbers.items()))}</div>'
    return [_e(c["id"]), _e(c["category"]), setup + _e(c["question"]), answer, cited, checks]


def scores_html(data: dict[str, Any]) -> str:
    """The headline and the score table against the targets (the web app's Evaluation tab)."""
    scores = [[_e(m), v, _e(t), "" if p is None else _verdict(p)] for m, v, t, p in score_rows(data)]
    return (
        f"<p><b>Gate {_verdict(data['gate']['passed'])}</b> · {_e(data['started_at'])} · "
        f"{_e(headline(data))}</p>" + _table(["metric", "value", "target", "result"], scores)
    )


def case_html(c: dict[str, Any]) -> str:
    """One case in full: question, answer with its trace, citations, gold passages, checks."""
    cells = _case_row(c)
    gold = "".join(
        f"<div>{_e(g['source'])}<blockquote>{_e(g['quote'])}</blockquote></div>"
        for g in c.get("reference_contexts") or []
    )
    rows = [
        ["case", f"{cells[0]} ({cells[1]})"],
        ["question", cells[2]],
        ["answer", cells[3]],
        ["cited passages", cells[4] or "none"],
        ["gold passages", gold or "none (the question should be refused)"],
        ["checks and scores", cells[5]],
    ]
    return _table(["", ""], rows)


def render_html(
    data: dict[str, Any], images: dict[str, str], comparison: list[tuple[str, list[str]]] | None
) -> str:
    scores = [[_e(m), v, _e(t), "" if p is None else _verdict(p)] for m, v, t, p in score_rows(data)]
    parts = [
        f"<h1>Evaluation report: gate {_verdict(data['gate']['passed'])}</h1>",
        f"<p>{_e(data['started_at'])} | {_e(headline(data))} | {_e(data['questions_file'])}</p>",
        "<h2>Scores</h2>",
        _table(["metric", "value", "threshold", "result"], scores),
        f'<img alt="scores" src="data:image/png;base64,{images["scores"]}">',
        f'<img alt="latency" src="data:image/png;base64,{images["latency"]}">',
    ]
    if comparison is not None:
        parts.append("<h2>Compared with the previous report</h2>")
        for title, items in comparison:
            listed = "".join(f"<li>{_e(i)}</li>" for i in items) or "<li>none</li>"
            parts.append(f"<h3>{_e(title)}</h3><ul>{listed}</ul>")
    by_category = [[_e(k), _e(v["cases"]), _e(v["passed"])] for k, v in data["by_category"].items()]
    parts += [
        "<h2>By category</h2>",
        _table(["category", "cases", "passed every check"], by_category),
        "<h2>By failure class (tags)</h2>",
        _table(["tag", "cases", "passed every check", "key facts", "refusal accuracy"], tag_rows(data)),
        "<h2>Settings</h2>",
        _table(["setting", "value"], [[_e(k), _e(v)] for k, v in data["settings"].items()]),
        "<h2>Questions</h2>",
        _table(
            ["id", "category", "question", "answer", "cited passages", "checks and scores"],
            [_case_row(c) for c in data["cases"]],
        ),
    ]
    body = "\n".join(parts)
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Evaluation report</title>'
        f"<style>{_CSS}</style></head><body>\n{body}\n</body></html>\n"
    )
