from __future__ import annotations

from assistant.rerank import SentenceReranker
from assistant.types import Passage


def passage(i: int, text: str, score: float) -> Passage:
    return Passage(f"c{i}", text, "doc.md", "Doc", i, 0, len(text), score)


# The answer ("manufacturing") sits in the second sentence of a paragraph whose first sentence is off the
# question, while another paragraph talks about investment in general.
GENERAL = passage(
    0,
    "Both leaders will explore opportunities for increased foreign investment in the United States. "
    "They will also discuss advancements in technology.",
    0.52,
)
ANSWER = passage(
    1,
    "Officials hinted at seeking commitments from Japan on several fronts. "
    "This includes encouraging Japanese investments in U.S. manufacturing plants.",
    0.41,
)
OTHER = passage(2, "The weather in the capital was mild during the visit.", 0.10)


def test_best_sentence_scores_each_passage_by_its_closest_sentence(embeddings) -> None:
    reranker = SentenceReranker(embeddings)
    query = "Which industry should Japanese investment flow into?"
    scores = reranker.best_sentence_scores(query, [GENERAL, ANSWER, OTHER])
    whole = embeddings.encode([query, ANSWER.text])
    assert scores[1] > float(whole[0] @ whole[1])  # the sentence is closer than the whole paragraph
    assert scores[2] < min(scores[0], scores[1])


def test_rerank_keeps_k_and_lifts_the_answering_paragraph(embeddings) -> None:
    reranker = SentenceReranker(embeddings)
    ranked = reranker.rerank("Japanese investments in manufacturing", [GENERAL, ANSWER, OTHER], k=2)
    assert [p.chunk_id for p in ranked] == ["c1", "c0"]


def test_rerank_of_one_passage_is_that_passage(embeddings) -> None:
    assert SentenceReranker(embeddings).rerank("anything", [OTHER], k=4) == [OTHER]
