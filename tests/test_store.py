from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.errors import StoreError
from assistant.store import ChunkStore, open_client
from tests.conftest import AssistantFactory, free_port, running_process


@pytest.fixture
def chroma_server(tmp_path: Path) -> Iterator[str]:
    """A real `chroma run` on 127.0.0.1, started and stopped by the test."""
    exe = shutil.which("chroma") or str(Path(sys.executable).parent / "chroma")
    port = free_port()
    command = [exe, "run", "--path", str(tmp_path / "server"), "--host", "127.0.0.1", "--port", str(port)]
    with running_process(command, port, 60, "chroma run"):
        yield f"http://127.0.0.1:{port}"


@pytest.mark.server
def test_server_mode_ingests_and_searches(
    make_assistant: AssistantFactory, seed_corpus: Path, chroma_server: str, settings
) -> None:
    assistant = make_assistant(chroma_url=chroma_server)
    assert assistant.ingest().count("added") == 1
    assert not settings.resolved_chroma_dir().exists()  # nothing written locally
    top = assistant.search("Which technologies were named for joint ventures?", 1)[0]
    assert "semiconductors" in top.text
    again = make_assistant(chroma_url=chroma_server)
    assert again.ingest().count("unchanged") == 1


def test_bad_server_url_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="http://host:port"):
        open_client(tmp_path, "localhost:8000")


def test_short_collection_name_is_refused(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="3 characters"):
        ChunkStore(open_client(tmp_path, None), "ab", {"m": 1})
