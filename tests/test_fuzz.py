"""Fuzzing (hypothesis, bounded: about a minute in all): the loaders, the chunker and the question path.

* Loaders: random bytes, and damaged real documents, under every supported extension: a document or a
  one-line ``LoaderError``, never another exception.
* Chunker: any unicode text with the real tokenizer: exact slices, in order, nothing lost, within the limit.
* Questions: any unicode into the chain (fake model): an ``Answer`` or a ``QuestionError``, nothing else.
"""

from __future__ import annotations

import io
import time
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assistant.chunking import split_document
from assistant.errors import LoaderError, QuestionError
from assistant.loaders import SUPPORTED_SUFFIXES, load_document
from assistant.service import Assistant
from assistant.types import Answer, LoadedDocument
from tests.test_loaders import JAPANESE, docx_bytes, pdf_bytes

# About a minute in all on a busy 2-core machine: 14 loader runs x 25, 40 texts, 20 questions.
LOADER_BUDGET = settings(max_examples=25, deadline=None)
BUDGET = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
QUESTION_BUDGET = settings(BUDGET, max_examples=20)

# Starts that lead each reader past its first checks, so the fuzz reaches the parsers.
PREFIXES = [
    b"",
    b"%PDF-1.4\n",
    b"PK\x03\x04",
    b"\xef\xbb\xbf",
    b"\xff\xfe",
    b"\xfe\xff",
    b"\x1b$B",
    b"---\ntitle: ",
    b"<html><head><title>",
    b"# Heading\n\n",
]


def valid_documents() -> dict[str, bytes]:
    html = (
        "<html><head><title>T</title></head><body><p>Ports and <b>ships</b>.</p><script>x()</script></body>"
    )
    return {
        ".pdf": pdf_bytes(["Fisheries talks went well.", "Second page of notes."], title="Notes"),
        ".docx": docx_bytes(["Shipbuilding subsidies were discussed."], [["a", "b"], ["c", "d"]]),
        ".html": html.encode(),
        ".htm": html.encode("utf-16"),
        ".md": b"---\ntitle: Brief\nkind: note\n---\n# Brief\n\nThe talks covered energy.\n",
        ".markdown": JAPANESE.encode("euc_jp"),
        ".txt": JAPANESE.encode("cp932"),
    }


def check_load(path: Path, data: bytes) -> None:
    path.write_bytes(data)
    started = time.perf_counter()
    try:
        document = load_document(path, path.name, max_bytes=64 * 1024)
    except LoaderError as err:
        message = str(err)
        assert message and "\n" not in message and "\r" not in message, repr(message)
        assert message.startswith(path.name), message
    else:
        assert isinstance(document, LoadedDocument)
        assert document.text.strip() and document.title and "\n" not in document.title
    assert time.perf_counter() - started < 20, "a loader took too long on a small file"


@pytest.fixture(scope="module")
def fuzz_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


@pytest.mark.parametrize("suffix", sorted(SUPPORTED_SUFFIXES))
@LOADER_BUDGET
@given(prefix=st.sampled_from(PREFIXES), body=st.binary(max_size=3000))
def test_random_bytes_give_a_document_or_a_loader_error(
    fuzz_dir: Path, suffix: str, prefix: bytes, body: bytes
) -> None:
    check_load(fuzz_dir / f"random{suffix}", prefix + body)


@pytest.mark.parametrize("suffix", sorted(SUPPORTED_SUFFIXES))
@LOADER_BUDGET
@given(data=st.data())
def test_damaged_documents_give_a_document_or_a_loader_error(fuzz_dir: Path, suffix: str, data) -> None:
    original = bytearray(valid_documents()[suffix])
    for _ in range(data.draw(st.integers(1, 8), label="damages")):
        if len(original) < 2:
            break
        at = data.draw(st.integers(0, len(original) - 1), label="at")
        action = data.draw(st.sampled_from(["flip", "cut", "insert", "delete"]), label="action")
        if action == "flip":
            original[at] = data.draw(st.integers(0, 255), label="byte")
        elif action == "cut":
            del original[max(at, 1) :]
        elif action == "insert":
            original[at:at] = data.draw(st.binary(min_size=1, max_size=64), label="inserted")
        else:
            del original[at : at + data.draw(st.integers(1, 64), label="length")]
    check_load(fuzz_dir / f"damaged{suffix}", bytes(original))


def test_damaged_docx_zip_members_are_loader_errors(fuzz_dir: Path) -> None:
    """A .docx whose main part is not XML: a zip that opens but whose Word part is broken."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(valid_documents()[".docx"])) as source, zipfile.ZipFile(out, "w") as bad:
        for item in source.infolist():
            body = source.read(item)
            bad.writestr(item, b"<w:document><<<" if item.filename == "word/document.xml" else body)
    path = fuzz_dir / "broken-part.docx"
    path.write_bytes(out.getvalue())
    with pytest.raises(LoaderError, match=r"broken-part\.docx is not a readable \.docx"):
        load_document(path, path.name)


@BUDGET
@given(
    text=st.text(
        alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"])
        | st.sampled_from(list(" \n\n\t.。!?#-")),
        max_size=1500,
    ),
    limit=st.integers(32, 96),
)
def test_chunks_cover_the_text_in_order_within_the_token_limit(embeddings, text: str, limit: int) -> None:
    document = LoadedDocument(source="f.md", title="F", text=text, content_hash="0" * 64)
    chunks = split_document(document, embeddings.count_tokens, limit)
    position = 0
    for number, chunk in enumerate(chunks):
        assert chunk.position == number
        assert chunk.text == text[chunk.start : chunk.end] and chunk.text.strip()
        assert chunk.start >= position, "chunks overlap or go backwards"
        assert embeddings.count_tokens(chunk.text) <= limit or len(chunk.text) == 1
        position = chunk.end
    assert "".join("".join(c.text for c in chunks).split()) == "".join(text.split())


@pytest.fixture
def seeded_assistant(make_assistant, seed_corpus: Path) -> Assistant:
    assistant = make_assistant(responses=["AI and semiconductors were named for joint ventures [1]."])
    assistant.ingest()
    return assistant


@QUESTION_BUDGET
@given(
    question=st.one_of(
        st.text(max_size=300),
        st.text(alphabet=st.characters(codec="utf-8"), min_size=1900, max_size=2200),
        st.sampled_from(["", " ", "\x00", "\u202e", "[1]", "{question}", "{{passages}}", "</s><|im_end|>"]),
        st.builds(
            lambda a, b: f"{a} Which technologies were named for joint ventures? {b}",
            st.text(max_size=80),
            st.text(max_size=80),
        ),
    )
)
def test_any_question_gives_an_answer_or_a_question_error(seeded_assistant: Assistant, question: str) -> None:
    try:
        answer = seeded_assistant.ask(question)
    except QuestionError as err:
        assert str(err) and "\n" not in str(err)
        return
    assert isinstance(answer, Answer) and answer.text
    assert answer.refused or answer.citations
