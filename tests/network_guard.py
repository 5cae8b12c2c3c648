"""A guard that fails every network connection not to this machine (127.0.0.0/8, ::1, Unix sockets).

``install(log_path)`` patches the socket module: ``connect``, ``connect_ex`` and ``sendto`` to another
address, and name look-ups of other hosts, raise ``OutboundConnectionError`` and are appended to
``log_path`` (so an attempt is seen even when the code that made it swallows the error). Used in-process by
tests/test_network_guard.py and, for subprocesses, by a ``sitecustomize.py`` that calls ``install`` from
the environment variable ``NETWORK_GUARD_LOG``.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import threading
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

_SKIPPED_FILES = ("network_guard.py", "socket.py", "threading.py")
LOCAL_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost", ""})
SITECUSTOMIZE = """\
import os, sys
sys.path.insert(0, {root!r})
from tests.network_guard import install
install(os.environ["NETWORK_GUARD_LOG"])
"""


class OutboundConnectionError(ConnectionRefusedError):
    """Raised instead of connecting anywhere but this machine."""


def is_local(host: object) -> bool:
    if isinstance(host, bytes):
        host = host.decode(errors="replace")
    if not isinstance(host, str):
        return False
    name = host.strip("[]").split("%")[0].lower()
    if name in LOCAL_NAMES:
        return True
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    return bool(address.is_loopback or (mapped is not None and mapped.is_loopback))


def _address_is_local(family: int, address: Any) -> bool:
    if family == getattr(socket, "AF_UNIX", None) or isinstance(address, str | bytes):
        return True  # a Unix socket path
    return isinstance(address, tuple) and is_local(address[0])


class Guard:
    def __init__(self, log_path: Path) -> None:
        self.log_path = log_path
        self.lock = threading.Lock()
        self.saved: dict[tuple[Any, str], Any] = {}

    def record(self, what: str) -> None:
        """One line per attempt: process, what was attempted, and the calls that led to it."""
        frames = [f for f in traceback.extract_stack()[:-3] if not f.filename.endswith(_SKIPPED_FILES)]
        where = " <- ".join(f"{Path(f.filename).name}:{f.lineno}" for f in reversed(frames[-30:]))
        with self.lock, self.log_path.open("a", encoding="utf-8") as log:
            log.write(f"{os.getpid()} {what} at {where}\n")

    def refuse(self, what: str) -> OutboundConnectionError:
        self.record(what)
        return OutboundConnectionError(f"network guard: outbound connection refused: {what}")

    def _patch(self, owner: Any, name: str, make: Callable[[Any], Any]) -> None:
        original = getattr(owner, name)
        self.saved[(owner, name)] = original
        setattr(owner, name, make(original))

    def install(self) -> Guard:
        guard = self

        def checked_connect(original: Any) -> Any:
            def connect(sock: socket.socket, address: Any, *args: Any) -> Any:
                if not _address_is_local(sock.family, address):
                    raise guard.refuse(f"{original.__name__} {address!r}")
                return original(sock, address, *args)

            return connect

        def checked_sendto(original: Any) -> Any:
            def sendto(sock: socket.socket, data: Any, *args: Any) -> Any:
                address = args[-1]
                if not _address_is_local(sock.family, address):
                    raise guard.refuse(f"sendto {address!r}")
                return original(sock, data, *args)

            return sendto

        def checked_lookup(original: Any) -> Any:
            def lookup(host: Any, *args: Any, **kwargs: Any) -> Any:
                if host is not None and not is_local(host):
                    raise guard.refuse(f"{original.__name__} {host!r}")
                return original(host, *args, **kwargs)

            return lookup

        self._patch(socket.socket, "connect", checked_connect)
        self._patch(socket.socket, "connect_ex", checked_connect)
        self._patch(socket.socket, "sendto", checked_sendto)
        for name in ("getaddrinfo", "gethostbyname", "gethostbyname_ex"):
            self._patch(socket, name, checked_lookup)
        return self

    def uninstall(self) -> None:
        for (owner, name), original in self.saved.items():
            setattr(owner, name, original)
        self.saved.clear()

    def attempts(self) -> list[str]:
        return self.log_path.read_text(encoding="utf-8").splitlines() if self.log_path.exists() else []


def install(log_path: str | Path) -> Guard:
    return Guard(Path(log_path)).install()


def sitecustomize_dir(folder: Path, root: Path) -> Path:
    """A folder holding a ``sitecustomize.py`` that installs the guard: put it first on PYTHONPATH."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "sitecustomize.py").write_text(SITECUSTOMIZE.format(root=str(root)))
    return folder
