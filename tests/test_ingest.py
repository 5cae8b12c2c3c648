from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from assistant.errors import StoreError
from tests.conftest import AssistantFactory, chunk_ids, write_generated_files


def test_ingest_twice_is_idempotent(make_assistant: AssistantFactory, seed_corpus: Path) -> None:
    assistant = make_assistant()
    first = assistant.ingest()
    assert (first.count("added"), first.chunks_written) == (1, 11)
    ids = chunk_ids(assistant)
    second = assistant.ingest()
    assert second.count("unchanged") == 1 and second.count("added") == 0
    assert chunk_ids(assistant) == ids and len(ids) == 11
    [doc] = assistant.documents()
    assert doc.title.startswith("Trump and Ishiba meet")
    assert (doc.source, doc.chunks) == ("meeting-article.md", 11)


def test_changed_file_replaces_its_chunks(make_assistant: AssistantFactory, seed_corpus: Path) -> None:
    assistant = make_assistant()
    assistant.ingest()
    path = seed_corpus / "meeting-article.md"
    path.write_text(path.read_text() + "\nA closing paragraph about fisheries talks that was added later.\n")
    report = assistant.ingest()
    assert report.count("updated") == 1
    assert assistant.store.count_chunks() == 12
    assert "fisheries" in assistant.search("fisheries talks", 1)[0].text
    assert {m["content_hash"] for _, _, m in assistant.store.iter_chunks()} == {
        assistant.documents()[0].content_hash
    }


def test_only_known_documents_pay_for_the_filtered_delete(
    make_assistant: AssistantFactory, seed_corpus: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assistant = make_assistant()
    deletes: list[str] = []
    delete = assistant.store.delete_chunks
    monkeypatch.setattr(
        assistant.store, "delete_chunks", lambda source, **kw: deletes.append(source) or delete(source, **kw)
    )
    (seed_corpus / "note.md").write_text("A short note about port fees.\n", encoding="utf-8")
    assistant.ingest()
    assert deletes == []  # new documents: nothing of theirs can be in the index yet
    (seed_corpus / "note.md").write_text("A short note about port fees, revised.\n", encoding="utf-8")
    report = assistant.ingest()
    assert report.count("updated") == 1 and deletes == ["note.md"]
    assert {m["content_hash"] for _, _, m in assistant.store.iter_chunks() if m["source"] == "note.md"} == {
        next(d.content_hash for d in assistant.documents() if d.source == "note.md")
    }


def test_file_gone_from_corpus_is_removed(make_assistant: AssistantFactory, seed_corpus: Path) -> None:
    assistant = make_assistant()
    (seed_corpus / "extra.md").write_text("Fisheries talks between the two delegations were postponed again.")
    assistant.ingest()
    (seed_corpus / "extra.md").unlink()
    report = assistant.ingest()
    assert [o.source for o in report.outcomes if o.status == "removed"] == ["extra.md"]
    assert [d.source for d in assistant.documents()] == ["meeting-article.md"]
    assert assistant.store.count_chunks() == 11


def test_bad_files_are_named_and_good_ones_indexed(make_assistant: AssistantFactory, tmp_path: Path) -> None:
    folder = tmp_path / "drop"
    folder.mkdir()
    (folder / "tool.exe").write_bytes(b"MZ\x90\x00" * 100)
    (folder / "empty.txt").write_text("")
    (folder / "broken.pdf").write_bytes(b"%PDF-1.7\n1 0 obj << /Type /Catalog >>\ngarbage")
    (folder / "good.md").write_text(
        "# Fisheries\n\nThe fisheries agreement was discussed at length by both sides."
    )
    assistant = make_assistant()
    report = assistant.ingest([folder])
    failed = {Path(o.source).name: o.error for o in report.failures()}
    assert set(failed) == {"tool.exe", "empty.txt", "broken.pdf"}
    assert all(error and "\n" not in error for error in failed.values())
    assert report.count("added") == 1
    assert "fisheries agreement" in assistant.search("fisheries agreement", 1)[0].text


def test_failed_update_keeps_what_was_indexed(make_assistant: AssistantFactory, seed_corpus: Path) -> None:
    assistant = make_assistant()
    assistant.ingest()
    (seed_corpus / "meeting-article.md").write_bytes(b"")
    report = assistant.ingest()
    assert report.count("failed") == 1
    assert assistant.store.count_chunks() == 11


def test_interrupted_document_is_finished_by_the_next_ingest(
    make_assistant: AssistantFactory, seed_corpus: Path
) -> None:
    assistant = make_assistant()
    assistant.ingest()
    clean = chunk_ids(assistant)
    # Simulate a crash half-way through: record pending, only some chunks written.
    info = assistant.documents()[0]
    assistant.store.put_documents([info], state="pending")
    victims = sorted(clean)[:5]
    assistant.store.chunks.delete(ids=victims)
    assert assistant.documents() == []  # a half document is not listed
    report = assistant.ingest()
    assert report.count("updated") == 1
    assert chunk_ids(assistant) == clean


def test_index_with_other_fingerprint_is_refused(make_assistant: AssistantFactory, seed_corpus: Path) -> None:
    make_assistant().ingest()
    with pytest.raises(StoreError, match="Run `assistant ingest`"):
        make_assistant(chunk_max_tokens=100)


def test_ingest_rebuilds_an_index_built_with_other_settings(seed_corpus: Path, settings, embeddings) -> None:
    """What `make run` does after an upgrade that changes the index (here: without the multilingual index)."""
    from assistant.factory import build_assistant

    old = build_assistant(settings.model_copy(update={"multilingual_index": False}), embeddings=embeddings)
    old.ingest()
    new = build_assistant(settings, embeddings=embeddings, rebuild_stale_index=True)
    assert new.store.replaced == ["meeting-article.md"] and new.store.count_chunks() == 0
    assert new.ingest().count("added") == 1
    assert new.store.multilingual is not None and new.store.multilingual.count() == new.store.count_chunks()
    assert build_assistant(settings, embeddings=embeddings).store.replaced is None  # current now


def test_rebuild_starts_over(make_assistant: AssistantFactory, seed_corpus: Path) -> None:
    assistant = make_assistant()
    assistant.ingest()
    report = assistant.ingest(rebuild=True)
    assert report.count("added") == 1 and assistant.store.count_chunks() == 11


def test_remove_document_moves_the_file_out_of_the_corpus(
    make_assistant: AssistantFactory, seed_corpus: Path, settings
) -> None:
    assistant = make_assistant()
    assistant.ingest()
    assert assistant.remove_document("meeting-article.md")
    assert assistant.documents() == [] and assistant.store.count_chunks() == 0
    assert not (seed_corpus / "meeting-article.md").exists()
    assert len(list((settings.data_dir / "removed").iterdir())) == 1
    assert assistant.ingest().count("added") == 0


def test_search_ranks_the_joint_venture_passage_first(seeded) -> None:
    top = seeded.search("Which technologies were named for joint ventures?", 3)
    assert "semiconductors" in top[0].text
    assert top[0].score > top[-1].score or len(top) == 1


def test_kill_minus_nine_mid_ingest_then_rerun_matches_a_clean_run(
    make_assistant: AssistantFactory, settings, tmp_path: Path
) -> None:
    write_generated_files(
        settings.corpus_dir,
        "report",
        files=30,
        paragraphs=40,
        line=lambda f, p: (
            f"Report {f} paragraph {p}: delegates from both countries reviewed shipping, energy "
            f"and investment topic number {f * 40 + p} in some detail during the session."
        ),
    )
    env = {
        **os.environ,
        "ASSISTANT_CORPUS_DIR": str(settings.corpus_dir),
        "ASSISTANT_DATA_DIR": str(settings.data_dir),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "assistant.cli", "ingest"], env=env, stderr=subprocess.PIPE, text=True
    )
    assert proc.stderr is not None
    seen = ""
    deadline = time.monotonic() + 120
    while "report-005" not in seen and time.monotonic() < deadline and proc.poll() is None:
        seen += proc.stderr.read(1)
    assert proc.poll() is None, "ingest finished before it could be killed: make the corpus larger"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()

    resumed = make_assistant()
    assert len(resumed.documents()) < 30
    resumed.ingest()
    clean = make_assistant(data_dir=tmp_path / "clean-data")
    clean.ingest()
    assert chunk_ids(resumed) == chunk_ids(clean)
    assert len(chunk_ids(resumed)) == resumed.store.count_chunks() == 30 * 40
    assert [d.source for d in resumed.documents()] == [d.source for d in clean.documents()]


def test_documents_are_written_in_batches_with_the_same_result(
    make_assistant: AssistantFactory, settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = write_generated_files(
        settings.corpus_dir,
        "memo",
        files=12,
        paragraphs=3,
        line=lambda f, p: f"Memo {f} point {p}: the delegations compared notes on port fees and fisheries.",
    )
    (settings.corpus_dir / "memo-005-empty.md").write_bytes(b"")  # a failure in the middle of the batch
    batched = make_assistant()
    upserts: list[int] = []
    upsert = batched.store.upsert
    monkeypatch.setattr(
        batched.store,
        "upsert",
        lambda chunks, vecs, *rest: upserts.append(len(chunks)) or upsert(chunks, vecs, *rest),
    )
    report = batched.ingest()
    assert [o.source for o in report.outcomes] == sorted(p.name for p in settings.corpus_dir.glob("*.md"))
    assert [o.source for o in report.failures()] == ["memo-005-empty.md"]
    assert report.count("added") == len(files)
    assert upserts == [report.chunks_written]  # all twelve documents in one embedding pass and one upsert

    one_by_one = make_assistant(data_dir=tmp_path / "one-by-one")
    one_by_one.ingestor.batch_chunks = 1
    assert one_by_one.ingest().chunks_written == report.chunks_written
    assert chunk_ids(batched) == chunk_ids(one_by_one)
    same = lambda a: [(d.source, d.title, d.chunks, d.content_hash, d.size) for d in a.documents()]  # noqa: E731
    assert same(batched) == same(one_by_one)


def test_a_long_document_reports_how_far_its_embedding_is(
    make_assistant: AssistantFactory, settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def line(f: int, p: int) -> str:  # sections of different lengths, so the slices are sorted by length
        return f"Section {p} of the briefing book covers the harbour dredging schedule." + " Tides." * (p % 7)

    write_generated_files(settings.corpus_dir, "book", files=1, paragraphs=20, line=line)
    assistant, whole = make_assistant(), make_assistant(data_dir=tmp_path / "whole")
    monkeypatch.setattr(assistant.ingestor.embeddings, "batch_size", 2)  # slices of 4 batches = 8 chunks
    vectors: dict[str, dict[str, list[float]]] = {"sliced": {}, "whole": {}}
    for name, which in (("sliced", assistant), ("whole", whole)):
        upsert = which.store.upsert
        seen = vectors[name]
        monkeypatch.setattr(
            which.store,
            "upsert",
            lambda chunks, vecs, *rest, upsert=upsert, seen=seen: (
                seen.update((c.id, list(v)) for c, v in zip(chunks, vecs, strict=True))
                or upsert(chunks, vecs, *rest)
            ),
        )
    steps: list[tuple[int, int, str]] = []
    report = assistant.ingest(progress=lambda done, total, what: steps.append((done, total, what)))
    chunks = report.chunks_written
    assert chunks >= 17  # three slices at least
    embedding = [s for s in steps if "embedded" in s[2]]
    expected = [f"book-000.md: {n}/{chunks} chunks embedded" for n in [*range(8, chunks, 8), chunks]]
    assert [what for _, _, what in embedding] == expected
    assert {done for done, _, _ in embedding} == {0}  # the file is not finished while it is embedded
    assert steps[0] == (0, 1, "book-000.md") and steps[-1] == (1, 1, "")

    assert whole.ingest().chunks_written == chunks  # no progress callback: one embedding pass
    assert chunk_ids(whole) == chunk_ids(assistant)
    assert vectors["sliced"] == vectors["whole"]  # each chunk keeps its own vector, bit for bit
