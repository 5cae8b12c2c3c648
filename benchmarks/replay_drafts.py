"""Re-check a change to the answer step without the language model: replay the drafts (and the standalone
questions of follow-ups) stored in an eval report through the current code, and score the result.

A draft only holds where the prompt did not change: a change to retrieval or to the passages' order gives
the real model another prompt, so confirm such a change with a real run (`assistant eval --compare`).

    .venv/bin/python benchmarks/replay_drafts.py eval-report/report.json [--out replayed.json]

Prints the new and the stored scores, and every case whose refusal, key-fact or citation check changed.
"""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult

from assistant import eval_report
from assistant.config import Settings
from assistant.evalset import load_eval_set
from assistant.evaluation import run_eval
from assistant.factory import build_assistant

KEYS = (
    "hit_at_3",
    "key_fact_accuracy",
    "refusal_accuracy",
    "citation_precision",
    "citation_recall",
    "unsupported_rate",
)


class StoredDrafts(BaseChatModel):
    """Answers each prompt with the draft the report stored for its question ("NOT IN DOCUMENTS" if none)."""

    drafts: dict[str, str]
    standalone: dict[str, str]

    @property
    def _llm_type(self) -> str:
        return "stored-drafts"

    def _reply(self, messages: Sequence[BaseMessage]) -> str:
        last = messages[-1].text
        if "Follow-up question:" in last:  # the condense prompt
            question = last.split("Follow-up question:", 1)[1].strip()
            return self.standalone.get(question, question)
        match = re.search(r"Question:\s*(.*)\s*$", last, re.S)
        return self.drafts.get(match.group(1).strip() if match else "", "NOT IN DOCUMENTS")

    def _generate(
        self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **_: Any
    ) -> ChatResult:
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=self._reply(messages)))])

    def _stream(
        self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **_: Any
    ) -> Iterator[ChatGenerationChunk]:
        yield ChatGenerationChunk(message=AIMessageChunk(content=self._reply(messages)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("report", type=Path, help="an eval report.json with drafts")
    parser.add_argument("--questions", type=Path, default=Path("eval/questions.yaml"))
    parser.add_argument("--out", type=Path, help="write the replayed report.json here")
    args = parser.parse_args()
    report = json.loads(args.report.read_text())
    stored = {c["id"]: c for c in report["cases"]}
    model = StoredDrafts(
        drafts={
            c["standalone_question"]: c.get("draft") or ""
            for c in report["cases"]
            if c.get("standalone_question")
        },
        standalone={
            c["question"]: c["standalone_question"] for c in report["cases"] if c.get("standalone_question")
        },
    )
    assistant = build_assistant(Settings(), chat_model=model)
    assistant.ingest()
    run = run_eval(assistant, [c for c in load_eval_set(args.questions) if c.id in stored])
    for name, summary in (("replayed", run.summary), ("stored  ", report["summary"])):
        print(name, " ".join(f"{k} {summary[k]:.3f}" for k in KEYS if summary.get(k) is not None))
    for result in run.results:
        was = stored[result.case.id]["checks"]
        changed = [
            f"{k}: {was.get(k)} -> {result.checks.get(k)}"
            for k in ("refusal", "key_facts", "citations")
            if was.get(k) != result.checks.get(k)
        ]
        if changed:
            text = " ".join((result.answer.text if result.answer else "").split())[:140]
            print(f"{result.case.id}: {', '.join(changed)} | {text}")
    if args.out:
        args.out.write_text(json.dumps(eval_report.report_data(run, [], {}, args.questions, 0), default=str))


if __name__ == "__main__":
    main()
