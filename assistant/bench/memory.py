"""The memory stage: peak RSS (VmHWM) of `assistant serve` on the benchmark index after a few answers."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

from assistant.bench.corpus import questions
from assistant.bench.measure import Row
from assistant.bench.stages import Workspace

RSS_LIMIT_MB = 3 * 1024


def peak_rss_mb(pid: int) -> float:
    """VmHWM (peak resident set size) of process ``pid``, in MiB, from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmHWM in /proc/{pid}/status")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_for_port(port: int, proc: subprocess.Popen[bytes], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"`assistant serve` exited with code {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError(f"`assistant serve` did not listen on port {port} within {seconds:.0f} s")


def serve_command(port: int) -> list[str]:
    script = Path(sys.executable).with_name("assistant")
    launcher = [str(script)] if script.is_file() else [shutil.which("assistant") or "assistant"]
    return [*launcher, "serve", "--host", "127.0.0.1", "--port", str(port)]


def memory_stage(ws: Workspace, answers: int = 3, timeout: float = 600.0) -> list[Row]:
    """Start `assistant serve` on the workspace's index, ask ``answers`` questions by API, read VmHWM."""
    from gradio_client import Client

    port = _free_port()
    env = {
        **os.environ,
        "ASSISTANT_CORPUS_DIR": str(ws.settings.corpus_dir),
        "ASSISTANT_DATA_DIR": str(ws.settings.data_dir),
        "GRADIO_ANALYTICS_ENABLED": "False",
        "HF_HUB_OFFLINE": "1",
    }
    log = ws.root / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(serve_command(port), env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            _wait_for_port(port, proc, timeout)
            client = Client(f"http://127.0.0.1:{port}/", verbose=False)
            for question in questions(answers, seed=62):
                client.predict(message=question, api_name="/chat")
            peak = peak_rss_mb(proc.pid)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    return [
        Row(
            ws.size,
            "memory",
            "serve peak RSS",
            "MB",
            round(peak, 1),
            value_limit=RSS_LIMIT_MB,
            note=f"VmHWM of `assistant serve` after {answers} answers over the API",
        )
    ]
