from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from assistant import cli
from assistant.factory import build_assistant


def run(*args: str):
    return CliRunner().invoke(cli.main, list(args), catch_exceptions=False)


def test_ingest_then_search_then_docs(seed_corpus: Path, monkeypatch, embeddings) -> None:
    monkeypatch.setattr("assistant.factory.LocalEmbeddings", lambda *a, **k: embeddings)
    result = run("ingest")
    assert result.exit_code == 0, result.output
    assert "1 added" in result.output
    again = run("ingest")
    assert "0 added, 0 updated, 1 unchanged, 0 removed, 0 failed" in again.output
    found = run("search", "Which technologies were named for joint ventures?", "-k", "2")
    assert found.exit_code == 0
    assert "semiconductors" in found.stdout.split("2. score")[0]
    listed = run("docs")
    assert "meeting-article.md" in listed.output and "11 chunks" in listed.output


def test_remove_unknown_document_is_one_line_error(seed_corpus: Path, monkeypatch, embeddings) -> None:
    monkeypatch.setattr("assistant.factory.LocalEmbeddings", lambda *a, **k: embeddings)
    result = CliRunner().invoke(cli.main, ["remove", "nope.md"])
    assert result.exit_code == 1
    assert "No document named 'nope.md'" in result.output
    assert "Traceback" not in result.output


def test_ingest_of_only_bad_files_fails_with_reasons(tmp_path: Path, monkeypatch, embeddings) -> None:
    monkeypatch.setattr("assistant.factory.LocalEmbeddings", lambda *a, **k: embeddings)
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "x.exe").write_bytes(b"MZ")
    result = CliRunner().invoke(cli.main, ["ingest", str(bad)])
    assert result.exit_code == 1
    assert "x.exe" in result.output and "unsupported" in result.output.lower()


def test_ask_json_prints_the_whole_answer(seed_corpus: Path, monkeypatch, embeddings, settings) -> None:
    from langchain_core.language_models.fake_chat_models import FakeListChatModel

    fake = FakeListChatModel(responses=["AI and semiconductors are named for joint ventures [1]."])
    monkeypatch.setattr(
        "assistant.cli._build",
        lambda with_model_progress=False, **_: build_assistant(
            settings, chat_model=fake, embeddings=embeddings
        ),
    )
    run("ingest")
    result = run("ask", "--json", "Which technologies were named for joint ventures?")
    answer = json.loads(result.stdout)
    assert answer["refused"] is False
    assert "semiconductors" in answer["text"]
    assert answer["citations"][0]["source"] == "meeting-article.md"
    assert "AI and semiconductors" in answer["citations"][0]["quote"]
    assert answer["outcome"] and answer["outcome"] == answer["trace"]["outcome"]
    assert answer["trace"]["standalone_question"] == "Which technologies were named for joint ventures?"
    assert answer["trace"]["passages"][0]["source"] == "meeting-article.md"


def test_ask_prints_the_evidence_first_then_the_checked_answer_with_its_quotes(
    seed_corpus: Path, monkeypatch, embeddings, settings
) -> None:
    from langchain_core.language_models.fake_chat_models import FakeListChatModel

    fake = FakeListChatModel(
        responses=["Joint ventures in critical technologies such as AI and semiconductors [1]."]
    )
    monkeypatch.setattr(
        "assistant.cli._build",
        lambda with_model_progress=False, **_: build_assistant(
            settings, chat_model=fake, embeddings=embeddings
        ),
    )
    run("ingest")
    out = run("ask", "Which technologies were named for joint ventures?").stdout
    evidence, answer = out.split("Checked answer:")
    assert evidence.startswith('Evidence found (the answer is being written):\n> "')
    assert evidence.index('> "') < evidence.index("Joint ventures in critical")  # the draft streams after it
    lead, quotes, sources = answer.strip().split("\n\n")
    assert lead.startswith("Joint ventures in critical technologies") and lead.endswith("[1].")
    assert all(line.startswith("> ") and len(line) <= 100 for line in quotes.splitlines())
    assert quotes.startswith('> "') and quotes.endswith('semiconductors." [1]')
    assert sources.startswith("Sources:\n  [1] ") and "(meeting-article.md, characters" in sources
    assert "\u201c" not in sources  # its quote is above, not repeated
