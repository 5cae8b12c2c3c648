"""``kill -9`` in the middle of an upload (``Assistant.add_files`` in a real subprocess), then a restart.

Two moments: while a file is half copied into the corpus, and while the uploaded files are being indexed.
After the restart the index is consistent (no orphan chunks, no half documents, no duplicates, the same
chunk ids as a clean run), no half-written file carries a real name, and uploading again finishes the job.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import AssistantFactory, chunk_ids, write_generated_files

FILES = 12
PARAGRAPHS = 20
KILLED_AT = 4  # the file being copied (mode "copy") or indexed (mode "index") when the process dies

# Runs in the subprocess: settings come from the environment (ASSISTANT_CORPUS_DIR, ASSISTANT_DATA_DIR).
UPLOADER = """
import shutil, sys, time
from pathlib import Path
from assistant.factory import build_assistant

mode, uploads, killed_at = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])
copies = []
real_copy = shutil.copyfile

def copy_then_stall(src, dst, **kwargs):
    copies.append(dst)
    if len(copies) == killed_at + 1:  # half the bytes written, then wait to be killed
        data = Path(src).read_bytes()
        with open(dst, "wb") as out:
            out.write(data[: len(data) // 2])
            out.flush()
            print("HALF-WRITTEN", dst, file=sys.stderr, flush=True)
            time.sleep(300)
    return real_copy(src, dst, **kwargs)

def progress(done, total, source):
    print("INDEXING", done, source, file=sys.stderr, flush=True)

assistant = build_assistant()
assistant.ingestor.batch_chunks = int(sys.argv[4])  # small batches: some are written before the kill
if mode == "copy":
    shutil.copyfile = copy_then_stall
print("READY", file=sys.stderr, flush=True)
report = assistant.add_files([(p.name, p) for p in sorted(uploads.iterdir())], progress=progress)
print("DONE", report.summary(), file=sys.stderr, flush=True)
"""


def kill_when(proc: subprocess.Popen[str], marker: str, seconds: float = 180) -> str:
    """Read the subprocess's stderr until ``marker`` appears, then kill -9 it."""
    assert proc.stderr is not None
    seen = ""
    deadline = time.monotonic() + seconds
    while marker not in seen and time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line and proc.poll() is not None:
            break
        seen += line
    assert marker in seen and proc.poll() is None, f"never saw {marker!r} while running:\n{seen[-2000:]}"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    return seen


@pytest.mark.parametrize("mode", ["copy", "index"])
def test_kill_minus_nine_mid_upload_then_restart_is_consistent(
    make_assistant: AssistantFactory, settings, tmp_path: Path, mode: str
) -> None:
    uploads = write_generated_files(
        tmp_path / "uploads",
        "upload",
        FILES,
        PARAGRAPHS,
        lambda f, p: (
            f"Upload {f} paragraph {p}: the delegations compared notes on shipping lanes, energy "
            f"prices and investment item {f * PARAGRAPHS + p} before the afternoon session."
        ),
    )
    env = {
        **os.environ,
        "ASSISTANT_CORPUS_DIR": str(settings.corpus_dir),
        "ASSISTANT_DATA_DIR": str(settings.data_dir),
    }
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            UPLOADER,
            mode,
            str(tmp_path / "uploads"),
            str(KILLED_AT),
            str(2 * PARAGRAPHS),
        ],
        env=env,
        cwd=Path(__file__).resolve().parent.parent,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    marker = "HALF-WRITTEN" if mode == "copy" else f"INDEXING {KILLED_AT} upload-{KILLED_AT:03d}.md"
    kill_when(proc, marker)

    corpus = settings.corpus_dir
    real = sorted(p.name for p in corpus.iterdir() if not p.name.startswith("."))
    hidden = sorted(p.name for p in corpus.iterdir() if p.name.startswith("."))
    if mode == "copy":  # the copies before the killed one are in place; the half one only hidden
        assert real == [p.name for p in uploads[:KILLED_AT]]
        assert hidden == [f".uploading-upload-{KILLED_AT:03d}.md"]
        half = (corpus / hidden[0]).stat().st_size
        assert 0 < half < uploads[KILLED_AT].stat().st_size
    else:
        assert real == [p.name for p in uploads] and hidden == []
    for name in real:  # no half-written file under a real name
        assert (corpus / name).read_bytes() == (tmp_path / "uploads" / name).read_bytes()

    # restart: the next ingest makes the index consistent with the corpus
    resumed = make_assistant()
    listed = len(resumed.documents())  # a half-indexed document is never listed
    assert listed == 0 if mode == "copy" else KILLED_AT <= listed < len(real)
    resumed.ingest()
    clean = make_assistant(data_dir=tmp_path / "clean-data")
    clean.ingest()
    ids = chunk_ids(resumed)
    assert ids == chunk_ids(clean) and len(ids) == len(set(ids)) == resumed.store.count_chunks()
    assert len(ids) == len(real) * PARAGRAPHS
    assert [d.source for d in resumed.documents()] == real  # each document exactly once

    # uploading the same files again finishes the job: the missing ones are added, none twice
    again = resumed.add_files([(p.name, p) for p in uploads])
    assert again.count("added") == FILES - len(real)
    assert {o.source for o in again.failures()} == set(real)  # "exists already"
    assert [d.source for d in resumed.documents()] == [p.name for p in uploads]
    assert resumed.store.count_chunks() == len(set(chunk_ids(resumed))) == FILES * PARAGRAPHS
    assert sorted(p.name for p in corpus.iterdir()) == [p.name for p in uploads]  # no leftovers
