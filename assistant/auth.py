"""Users of the web app: a YAML (or ``.json``) file of names, roles and scrypt password hashes.

Roles: ``admin`` may add and remove documents; ``reader`` may only chat. Failed logins are slowed down
with a per-user delay that doubles with each consecutive failure. Passwords and hashes are never logged,
printed or shown in a ``repr``.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import os
import re
import secrets
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from assistant.config import Settings
from assistant.errors import AccessError

ROLES = ("admin", "reader")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
_SCRYPT = {"n": 2**14, "r": 8, "p": 1}
MIN_PASSWORD = 8


class UsersFileError(AccessError):
    """The users file cannot be read, or a user cannot be added (bad name, role or password)."""


def users_path(settings: Settings) -> Path:
    """The configured users file, else ``data_dir/users.yaml``."""
    return settings.users_file or settings.data_dir / "users.yaml"


def hash_password(password: str, salt: bytes | None = None, **params: int) -> str:
    """``scrypt$n$r$p$salt$hash`` (hex), with a fresh random salt unless one is given."""
    cost = {**_SCRYPT, **params}
    salt = salt if salt is not None else secrets.token_bytes(16)
    digest = hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=cost["n"], r=cost["r"], p=cost["p"], dklen=32
    )
    return f"scrypt${cost['n']}${cost['r']}${cost['p']}${salt.hex()}${digest.hex()}"


def check_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        again = hash_password(password, bytes.fromhex(salt), n=int(n), r=int(r), p=int(p))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(again.rsplit("$", 1)[1], digest)


@dataclass
class User:
    name: str
    role: str
    password_hash: str = field(repr=False)


@dataclass
class _Failures:
    count: int = 0
    last: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)
    alock: asyncio.Lock = field(default_factory=asyncio.Lock)


class UserStore:
    """The users file. Changes are written at once (atomically, readable by the owner only)."""

    BASE_DELAY = 0.5  # seconds after the first failure; doubles after each further one
    MAX_DELAY = 8.0
    FORGET_AFTER = 15 * 60  # failures older than this no longer count
    MAX_TRACKED = 10_000  # names with failure records kept in memory

    def __init__(
        self,
        path: Path,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        async_sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.path = path
        self._sleep = sleep
        self._async_sleep = async_sleep
        self._clock = clock
        self._lock = threading.Lock()
        self._failures: dict[str, _Failures] = {}
        self._users: dict[str, User] = self._load()
        self._dummy_hash = hash_password(secrets.token_hex(8))

    # --- file --------------------------------------------------------------------------------------
    def _load(self) -> dict[str, User]:
        if not self.path.exists():
            return {}
        try:
            raw = self.path.read_text(encoding="utf-8")
            data: Any = json.loads(raw) if self.path.suffix == ".json" else yaml.safe_load(raw)
        except (OSError, ValueError, yaml.YAMLError) as err:
            raise UsersFileError(f"Cannot read the users file {self.path}: {err}") from None
        entries = (data or {}).get("users", []) if isinstance(data, dict) else None
        if not isinstance(entries, list):
            raise UsersFileError(f"The users file {self.path} must have a 'users:' list.")
        users: dict[str, User] = {}
        for number, entry in enumerate(entries, start=1):
            if not isinstance(entry, dict) or not {"name", "role", "password_hash"} <= entry.keys():
                raise UsersFileError(
                    f"The users file {self.path}: entry {number} needs name, role and password_hash."
                )
            if entry["role"] not in ROLES:
                raise UsersFileError(
                    f"The users file {self.path}: user {entry['name']!r} has role {entry['role']!r}; "
                    f"use one of {', '.join(ROLES)}."
                )
            users[str(entry["name"])] = User(str(entry["name"]), entry["role"], str(entry["password_hash"]))
        return users

    def _save(self) -> None:
        data = {
            "users": [
                {"name": u.name, "role": u.role, "password_hash": u.password_hash}
                for u in sorted(self._users.values(), key=lambda u: u.name)
            ]
        }
        text = (
            json.dumps(data, indent=2)
            if self.path.suffix == ".json"
            else "# Users of the meeting assistant web app: manage with `assistant users add/remove/list`.\n"
            + yaml.safe_dump(data, sort_keys=False)
        )
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.")
        try:
            os.chmod(temp, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
            os.replace(temp, self.path)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise

    # --- users -------------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._users)

    def names(self) -> list[str]:
        return sorted(self._users)

    def role(self, name: str | None) -> str | None:
        user = self._users.get(name or "")
        return user.role if user else None

    def is_admin(self, name: str | None) -> bool:
        return self.role(name) == "admin"

    def add(self, name: str, password: str, role: str = "reader", replace: bool = False) -> None:
        if not _NAME.match(name):
            raise UsersFileError(
                f"User name {name!r} is not allowed: use letters, digits and . _ @ - (up to 64)."
            )
        if role not in ROLES:
            raise UsersFileError(f"Role {role!r} is not known; use one of {', '.join(ROLES)}.")
        if len(password) < MIN_PASSWORD:
            raise UsersFileError(f"The password needs at least {MIN_PASSWORD} characters.")
        with self._lock:
            if name in self._users and not replace:
                raise UsersFileError(f"User {name!r} exists already.")
            self._users[name] = User(name, role, hash_password(password))
            self._save()

    def remove(self, name: str) -> bool:
        with self._lock:
            if self._users.pop(name, None) is None:
                return False
            self._save()
            return True

    # --- login -------------------------------------------------------------------------------------
    def delay_for(self, name: str) -> float:
        """How long the next failed login of ``name`` will be held up."""
        failures = self._failures.get(name)
        if failures is None or failures.count == 0:
            return self.BASE_DELAY
        return min(self.BASE_DELAY * 2**failures.count, self.MAX_DELAY)

    def _failures_of(self, name: str) -> _Failures:
        with self._lock:
            if name not in self._failures and len(self._failures) >= self.MAX_TRACKED:
                oldest = sorted(self._failures, key=lambda n: self._failures[n].last)
                for stale in oldest[: self.MAX_TRACKED // 2]:
                    del self._failures[stale]
            return self._failures.setdefault(name, _Failures())

    def _check(self, name: str, password: str) -> bool:
        user = self._users.get(name)
        # An unknown name costs the same hashing time as a known one.
        right = check_password(password, user.password_hash if user else self._dummy_hash)
        return right and user is not None

    def _settle(self, name: str, failures: _Failures, ok: bool) -> float:
        """Record the attempt; the delay to wait before answering a failure (0 on success)."""
        now = self._clock()
        if failures.count and now - failures.last > self.FORGET_AFTER:
            failures.count = 0
        if ok:
            failures.count = 0
            return 0.0
        delay = self.delay_for(name)
        failures.count += 1
        failures.last = now
        return delay

    def verify(self, name: str, password: str) -> bool:
        """True if the password is right. A wrong one is answered only after the user's current delay;
        attempts on one name are taken one at a time, so parallel guessing is slowed down too."""
        failures = self._failures_of(name)
        with failures.lock:
            ok = self._check(name, password)
            delay = self._settle(name, failures, ok)
            if delay:
                self._sleep(delay)
            return ok

    async def averify(self, name: str, password: str) -> bool:
        """``verify`` for the web server: hashing runs in a thread and the delay never blocks the server."""
        failures = self._failures_of(name)
        async with failures.alock:
            ok = await asyncio.to_thread(self._check, name, password)
            delay = self._settle(name, failures, ok)
            if delay:
                await self._async_sleep(delay)
            return ok


def load_users(settings: Settings) -> UserStore | None:
    """The users store if login is on: the users file exists and names at least one user."""
    path = users_path(settings)
    if settings.users_file is not None and not path.exists():
        raise UsersFileError(
            f"ASSISTANT_USERS_FILE is {path}, which does not exist. Add a user: assistant users add NAME"
        )
    if not path.exists():
        return None
    store = UserStore(path)
    if not len(store):
        if settings.users_file is not None:
            raise UsersFileError(f"The users file {path} has no users. Add one: assistant users add NAME")
        return None
    return store
