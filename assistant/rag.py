"""The retrieval chain: condense, retrieve, gate, choose evidence, generate (streamed), check, compose.

LangChain runs the model steps (prompt | chat model | parser); the decisions that a small model gets wrong
are made in code (``assistant/answering/``): whether the documents cover the question, which sentences are
the evidence (shown before the model starts), and which of the model's words the evidence carries.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from langchain_core.language_models import BaseChatModel
from langchain_core.output_parsers import StrOutputParser

from assistant.answering import AnswerStep, Trace
from assistant.citations import strip_markers
from assistant.errors import QuestionError
from assistant.guard import split_injections
from assistant.japanese import has_japanese
from assistant.overview import OverviewPassages, asks_for_catalogue, asks_for_overview
from assistant.prompts import PromptFile
from assistant.retrieval import Retriever
from assistant.types import Answer, Evidence, Passage, Token

Turn = dict[str, str]  # {"role": "user" | "assistant", "content": "..."}

REFUSAL_TEXT = "The documents don't say, so I can't answer that."
REFUSAL_TEXT_JA = "資料には書かれていないため、お答えできません。"  # to a question asked in Japanese
LEAK_TEXT = "I can't share my instructions. Ask me about the documents instead."
_HISTORY_TURNS = 4
_HISTORY_CHARS = 400


@dataclass(frozen=True)
class ChainSettings:
    top_k: int
    min_relevance: float
    max_question_chars: int = 2000
    rerank: bool = True  # choose the ``top_k`` of ``candidates`` by their evidence
    candidates: int = 12  # passages retrieved for the evidence to choose ``top_k`` from


def _clean_question(question: str, limit: int) -> str:
    cleaned = " ".join(question.split())
    if not cleaned:
        raise QuestionError("Please type a question.")
    if len(cleaned) > limit:
        raise QuestionError(
            f"That question is {len(cleaned):,} characters long; the limit is {limit:,}. Please shorten it."
        )
    return cleaned


def format_history(history: Sequence[Turn]) -> str:
    lines = []
    for turn in list(history)[-_HISTORY_TURNS:]:
        speaker = "User" if turn.get("role") == "user" else "Assistant"
        text = strip_markers(str(turn.get("content", "")))[:_HISTORY_CHARS]
        lines.append(f"{speaker}: {text}")
    return "\n".join(lines)


def format_passages(passages: Sequence[Passage]) -> str:
    titled = len({p.source for p in passages}) > 1
    return "\n\n".join(
        f"[{i}] " + (f"({p.title}) " if titled else "") + " ".join(p.text.split())
        for i, p in enumerate(passages, start=1)
    )


def _leaks(text: str, secret: str, n: int = 8) -> bool:
    """True if ``text`` repeats any run of ``n`` words of ``secret`` (the system prompt)."""
    words = re.findall(r"\w+", secret.lower())
    grams = {" ".join(words[i : i + n]) for i in range(len(words) - n + 1)}
    said = re.findall(r"\w+", text.lower())
    return any(" ".join(said[i : i + n]) in grams for i in range(len(said) - n + 1))


class RagChain:
    def __init__(
        self,
        retriever: Retriever,
        model: BaseChatModel,
        answering: AnswerStep,
        answer_prompt: PromptFile,
        condense_prompt: PromptFile,
        settings: ChainSettings,
        overview: OverviewPassages | None = None,
    ) -> None:
        self.retriever = retriever
        self.overview = overview
        self.model = model
        self.answering = answering
        self.answer_prompt = answer_prompt
        self.settings = settings
        self.answer_chain = answer_prompt.template() | model | StrOutputParser()
        self.condense_chain = condense_prompt.template() | model | StrOutputParser()

    def condense(self, question: str, history: Sequence[Turn]) -> str:
        """A standalone version of ``question`` (itself when there is no history)."""
        if not any(t.get("role") == "user" for t in history):
            return question
        raw = self.condense_chain.invoke({"history": format_history(history), "question": question})
        line = next((ln.strip() for ln in raw.splitlines() if ln.strip()), "")
        line = re.sub(r"^(standalone question|question)\s*:\s*", "", line, flags=re.I).strip(" \"'")
        if 3 <= len(line) <= 3 * len(question) + 200:
            return line
        previous = next(t["content"] for t in reversed(history) if t.get("role") == "user")
        return f"{previous} {question}"

    def passages_for(self, question: str) -> list[Passage]:
        """The ``top_k`` passages for ``question``: ``candidates`` retrieved, then those holding the best
        evidence (``ChainSettings.rerank``), or the retriever's first ``top_k``."""
        if not self.settings.rerank:
            return self.retriever.retrieve(question, self.settings.top_k)
        found = self.retriever.retrieve(question, max(self.settings.candidates, self.settings.top_k))
        query = self.retriever.glossary.expand(question)
        return self.answering.select(question, found, self.settings.top_k, query)

    def stream(self, question: str, history: Sequence[Turn] = ()) -> Iterator[Evidence | Token | Answer]:
        """Yield the evidence as soon as it is chosen, the model's text as it is generated, then the
        composed ``Answer``."""
        started = time.perf_counter()
        question = _clean_question(question, self.settings.max_question_chars)
        timings: dict[str, float] = {}
        asked, injected = split_injections(question)
        if not asked:
            answer = Answer(question=question, standalone_question="", text="")
            reason = "The message gives the assistant instructions instead of asking about the documents."
            yield self._refuse(answer, started, timings, reason)
            return
        standalone = self.condense(asked, history)
        timings["condense_s"] = time.perf_counter() - started
        if self.overview and asks_for_catalogue(standalone):
            text = self.overview.catalogue()
            answer = Answer(question=question, standalone_question=standalone, text=text)
            answer.timings = {**timings, "total_s": time.perf_counter() - started}
            yield Token(text)
            yield answer
            return
        mark = time.perf_counter()
        passages = self.passages_for(standalone)
        timings["retrieve_s"] = time.perf_counter() - mark
        answer = Answer(question=question, standalone_question=standalone, text="", passages=passages)
        answer.unsupported = injected  # instructions removed from the question are reported, never obeyed
        best = max((p.score for p in passages), default=0.0)
        summary = False
        # "Summarise the article": no passage is about that, so answer from a document's opening; and when the
        # question names the kind of document, from its opening however close other passages come (the
        # readout's opening, 概要 "summary", came closer than any passage of the article)
        if (
            self.overview
            and asks_for_overview(standalone)
            and (best < self.settings.min_relevance or self.overview.names_a_kind(standalone))
        ):
            opening = self.overview.opening(standalone, self.settings.top_k)
            if opening:
                passages = answer.passages = opening
                best, summary = self.settings.min_relevance, True
            timings["retrieve_s"] = time.perf_counter() - mark
        if best < self.settings.min_relevance and not self.answering.names_topic(standalone, passages):
            yield self._refuse(
                answer,
                started,
                timings,
                f"No passage in the documents is close to this question "
                f"(best match {best:.2f}, needed {self.settings.min_relevance:.2f}).",
            )
            return
        mark = time.perf_counter()
        plan = self.answering.plan(standalone, passages, keep_order=summary)
        answer.passages = plan.passages
        trace = Trace(standalone_question=standalone)
        trace.record_evidence(plan.kind, plan.passages, plan.units)
        timings["evidence_s"] = time.perf_counter() - mark
        if plan.quotes:
            timings["evidence_shown_s"] = time.perf_counter() - started
            yield Evidence(plan.quote_text(), plan.quote_citations())
        mark = time.perf_counter()
        draft = ""
        for piece in self.answer_chain.stream(
            {"passages": format_passages(plan.passages), "question": standalone}
        ):
            if not draft and piece:
                timings["first_token_s"] = time.perf_counter() - started
            draft += piece
            yield Token(piece)
        timings["generate_s"] = time.perf_counter() - mark
        answer.draft = draft
        mark = time.perf_counter()
        if _leaks(draft, self.answer_prompt.system):
            answer.text, answer.refused, answer.refusal_reason = LEAK_TEXT, True, "The draft quoted my rules."
            answer.outcome, answer.trace = "leak", trace.to_dict()
            answer.timings = {**timings, "total_s": time.perf_counter() - started}
            yield answer
            return
        composed = self.answering.finish(plan, draft, standalone, trace)
        timings["check_s"] = time.perf_counter() - mark
        answer.text, answer.citations = composed.text, composed.citations
        answer.refused, answer.refusal_reason = composed.refused, composed.reason
        answer.unsupported = [*answer.unsupported, *composed.removed]
        answer.outcome, answer.trace = composed.outcome, trace.to_dict()
        answer.timings = {**timings, "total_s": time.perf_counter() - started}
        yield answer

    @staticmethod
    def _refuse(answer: Answer, started: float, timings: dict[str, float], reason: str) -> Answer:
        text = REFUSAL_TEXT_JA if has_japanese(answer.question) else REFUSAL_TEXT
        answer.text, answer.refused, answer.refusal_reason = text, True, reason
        answer.citations, answer.outcome = [], "refused"
        answer.timings = {**timings, "total_s": time.perf_counter() - started}
        return answer

    def ask(self, question: str, history: Sequence[Turn] = ()) -> Answer:
        for event in self.stream(question, history):
            if isinstance(event, Answer):
                return event
        raise RuntimeError("the chain ended without an answer")  # pragma: no cover
