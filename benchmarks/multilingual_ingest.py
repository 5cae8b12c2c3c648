"""What the multilingual index costs at ingest (issue 18): one generated corpus ingested with and without it.

Each run builds a fresh index in a temp folder from ``--chunks`` news-like paragraphs (one paragraph, one
chunk; ``assistant.bench.corpus``) and times ``Assistant.ingest`` end to end: reading, splitting, MiniLM
vectors, (multilingual-e5-small vectors,) Chroma writes. Prints seconds, chunks per second and the ratio.

    .venv/bin/python benchmarks/multilingual_ingest.py [--chunks 1000]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from assistant.bench.corpus import paragraphs, write_corpus
from assistant.config import Settings
from assistant.factory import build_assistant


def ingest_seconds(root: Path, corpus: Path, multilingual: bool) -> tuple[float, int]:
    settings = Settings(
        corpus_dir=corpus, data_dir=root / f"data-{multilingual}", multilingual_index=multilingual
    )
    assistant = build_assistant(settings, chat_model=lambda: None)  # type: ignore[arg-type,return-value]
    assistant.embeddings.encode(["warm up"])  # model loading is not ingest
    if assistant.retriever.multilingual is not None:
        assistant.retriever.multilingual.passages(["warm up"])
    started = time.perf_counter()
    report = assistant.ingest()
    return time.perf_counter() - started, report.chunks_written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        write_corpus(root / "corpus", paragraphs(args.chunks))
        english, chunks = ingest_seconds(root, root / "corpus", multilingual=False)
        both, _ = ingest_seconds(root, root / "corpus", multilingual=True)
    print(f"{chunks:,} chunks")
    print(f"English index only:     {english:7.1f} s  {chunks / english:6.1f} chunks/s")
    print(f"with multilingual index: {both:7.1f} s  {chunks / both:6.1f} chunks/s  ({both / english:.1f}x)")


if __name__ == "__main__":
    main()
