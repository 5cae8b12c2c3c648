"""Peak RSS of `assistant serve` on an existing benchmark store (the bench's memory stage alone).

    .venv/bin/python benchmarks/serve_memory.py --root W/n100000 [--answers 3]

``W`` is the ``--workdir`` of an `assistant bench` run; the stage starts `assistant serve` on that store,
asks ``--answers`` questions through the API and reads VmHWM, as `assistant bench` does.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from assistant.bench.memory import memory_stage
from assistant.bench.stages import Workspace
from assistant.config import Settings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path, required=True)
    parser.add_argument("--answers", type=int, default=3)
    args = parser.parse_args()
    settings = Settings().model_copy(
        update={"corpus_dir": args.root / "corpus", "data_dir": args.root / "data"}
    )
    ws = Workspace(0, args.root, settings, assistant=None, raw=None)  # type: ignore[arg-type]
    [row] = memory_stage(ws, answers=args.answers)
    print(f"serve peak RSS {row.project} MB after {args.answers} answers (load {os.getloadavg()[0]:.2f})")


if __name__ == "__main__":
    main()
