from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from assistant.chunking import chunk_id, paragraph_spans, split_document
from assistant.loaders import load_document
from assistant.types import LoadedDocument
from tests.conftest import ROOT, SEED


def words(text: str) -> int:
    return len(text.split())


def doc(text: str) -> LoadedDocument:
    return LoadedDocument(source="a.md", title="A", text=text, content_hash="h" * 64)


def test_seed_article_gives_one_chunk_per_paragraph(embeddings) -> None:
    body = SEED.read_text(encoding="utf-8").split("---\n", 2)[2].strip()
    chunks = split_document(doc(body), embeddings.count_tokens, 200)
    assert len(chunks) == 11
    assert chunks[6].text.startswith("The United States is keen")
    assert all(embeddings.count_tokens(c.text) <= 200 for c in chunks)


def test_chunks_are_exact_slices_with_spans() -> None:
    text = "First paragraph is here and long enough to stand.\n\nSecond one follows it, also long enough."
    chunks = split_document(doc(text), words, 50)
    assert [c.text for c in chunks] == [text[c.start : c.end] for c in chunks]
    assert chunks[1].text == "Second one follows it, also long enough."
    assert [c.position for c in chunks] == [0, 1]


def test_heading_joins_the_paragraph_after_it() -> None:
    text = (
        "# Title\n\nThe body paragraph under the heading is long enough.\n\n"
        "Another paragraph, which is long enough to stand alone."
    )
    spans = paragraph_spans(text)
    assert text[spans[0][0] : spans[0][1]].startswith("# Title\n\nThe body")
    assert len(spans) == 2


def test_long_paragraph_splits_at_sentences_without_losing_words() -> None:
    sentence = "The delegation discussed energy exports and investment in factories. "
    text = (sentence * 30).strip()
    chunks = split_document(doc(text), words, 25)
    assert len(chunks) > 1
    assert all(words(c.text) <= 25 for c in chunks)
    assert all(c.text.endswith(".") for c in chunks)
    assert " ".join(c.text for c in chunks).split() == text.split()


def test_one_giant_word_is_cut_not_dropped() -> None:
    text = "x" * 5000
    chunks = split_document(doc(text), lambda t: len(t) // 10 + 1, 50)
    assert "".join(c.text for c in chunks) == text
    assert all(len(c.text) // 10 + 1 <= 50 for c in chunks)


def test_japanese_sentences_split_without_spaces() -> None:
    text = "日米首脳会談が行われた。" * 40
    chunks = split_document(doc(text), len, 60)
    assert all(len(c.text) <= 60 for c in chunks)
    assert "".join(c.text for c in chunks) == text


def test_japanese_readout_chunks_are_exact_spans_of_the_loaded_text() -> None:
    path = ROOT / "corpus" / "meeting-readout-ja.md"
    document = load_document(path, path.name)
    invitation = "石破総理は、トランプ大統領に対し、大阪・関西万博への訪問を招待した。"
    for limit in (1000, 70, 40):  # whole paragraphs; sentences (the longest is 64 characters); pieces of them
        chunks = split_document(document, len, limit)
        assert all(c.text == document.text[c.start : c.end] and len(c.text) <= limit for c in chunks)
        assert "".join("".join(c.text for c in chunks).split()) == "".join(document.text.split())
    sentences = split_document(document, len, 70)
    assert all(c.text.endswith("。") for c in sentences)  # cut at the full stops, not inside words
    last = sentences[-1]
    assert (last.text, last.start) == (invitation, document.text.index(invitation))


def test_ids_are_deterministic_and_depend_on_content() -> None:
    assert chunk_id("a.md", "1" * 64, 3) == chunk_id("a.md", "1" * 64, 3)
    assert chunk_id("a.md", "1" * 64, 3) != chunk_id("a.md", "2" * 64, 3)
    assert chunk_id("a.md", "1" * 64, 3) != chunk_id("b.md", "1" * 64, 3)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab .\n!?。")), max_size=400), st.integers(3, 30))
def test_any_text_is_covered_within_the_limit(text: str, limit: int) -> None:
    chunks = split_document(doc(text), lambda t: len(t.split()) + len(t) // 20, limit)
    for c in chunks:
        assert c.text == text[c.start : c.end]
        assert len(c.text.split()) + len(c.text) // 20 <= limit or len(c.text) == 1
    covered = "".join(c.text for c in chunks)
    assert "".join(text.split()) == "".join(covered.split())
