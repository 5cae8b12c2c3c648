"""Users file, password hashing, slowed-down failed logins, and the `assistant users` commands."""

from __future__ import annotations

import asyncio
import json
import stat
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from assistant import cli
from assistant.auth import UsersFileError, UserStore, check_password, hash_password, load_users
from assistant.config import Settings


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)

    async def async_sleep(self, seconds: float) -> None:
        self.slept.append(seconds)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(tmp_path: Path, clock: Clock) -> UserStore:
    users = UserStore(tmp_path / "users.yaml", sleep=clock.sleep, clock=clock, async_sleep=clock.async_sleep)
    users.add("ann", "correct horse", "admin")
    users.add("rob", "battery staple", "reader")
    return users


def test_hashes_are_salted_scrypt_and_check_only_the_right_password() -> None:
    one, two = hash_password("s3cret-pass"), hash_password("s3cret-pass")
    assert one != two and one.startswith("scrypt$16384$8$1$")
    assert check_password("s3cret-pass", one) and check_password("s3cret-pass", two)
    assert not check_password("s3cret-pasS", one)
    assert not check_password("x", "not-a-hash") and not check_password("x", "bcrypt$1$2$3$aa$bb")


def test_users_file_keeps_roles_and_hashes_but_never_passwords(store: UserStore, tmp_path: Path) -> None:
    path = tmp_path / "users.yaml"
    text = path.read_text()
    assert "correct horse" not in text and "battery staple" not in text
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    data = yaml.safe_load(text)
    assert [(u["name"], u["role"]) for u in data["users"]] == [("ann", "admin"), ("rob", "reader")]
    again = UserStore(path)
    assert again.names() == ["ann", "rob"] and again.role("ann") == "admin" and again.role("rob") == "reader"
    assert again.is_admin("ann") and not again.is_admin("rob") and not again.is_admin(None)
    assert "scrypt" not in repr(again._users["ann"])  # the hash stays out of logs and tracebacks
    assert again.remove("rob") and not again.remove("rob")
    assert UserStore(path).names() == ["ann"]


def test_json_users_file(tmp_path: Path) -> None:
    users = UserStore(tmp_path / "users.json")
    users.add("ann", "correct horse", "admin")
    assert json.loads((tmp_path / "users.json").read_text())["users"][0]["name"] == "ann"
    assert UserStore(tmp_path / "users.json").verify("ann", "correct horse")


@pytest.mark.parametrize(
    ("name", "password", "role", "message"),
    [
        ("../x", "long enough", "reader", "not allowed"),
        ("bob", "short", "reader", "at least 8"),
        ("bob", "long enough", "root", "Role 'root' is not known"),
        ("ann", "long enough", "reader", "exists already"),
    ],
)
def test_bad_users_are_refused(store: UserStore, name: str, password: str, role: str, message: str) -> None:
    with pytest.raises(UsersFileError, match=message):
        store.add(name, password, role)


def test_replace_changes_the_password(store: UserStore) -> None:
    store.add("ann", "new password!", "reader", replace=True)
    assert store.verify("ann", "new password!") and store.role("ann") == "reader"
    assert not store.verify("ann", "correct horse")


def test_failed_logins_are_slowed_down_more_each_time(store: UserStore, clock: Clock) -> None:
    assert store.verify("ann", "correct horse") and clock.slept == []
    for _ in range(6):
        assert not store.verify("ann", "guess")
    assert clock.slept == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0]
    assert store.verify("ann", "correct horse")  # success resets the delay
    assert not store.verify("ann", "guess") and clock.slept[-1] == 0.5
    assert not store.verify("rob", "guess") and clock.slept[-1] == 0.5  # per user
    assert not store.verify("nobody", "guess") and clock.slept[-1] == 0.5  # unknown names too
    assert not store.verify("ann", "guess") and clock.slept[-1] == 1.0
    clock.now += UserStore.FORGET_AFTER + 1  # old failures are forgotten
    assert not store.verify("ann", "guess") and clock.slept[-1] == 0.5


def test_async_verify_for_the_web_server(store: UserStore, clock: Clock) -> None:
    async def attempts() -> list[bool]:
        return list(
            await asyncio.gather(
                store.averify("rob", "battery staple"),
                store.averify("rob", "nope"),
                store.averify("rob", "nope"),
            )
        )

    assert asyncio.run(attempts()) == [True, False, False]
    assert clock.slept == [0.5, 1.0]


def test_broken_users_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "users.yaml"
    path.write_text("users:\n  - {name: ann, role: king, password_hash: x}\n")
    with pytest.raises(UsersFileError, match="role 'king'"):
        UserStore(path)
    path.write_text("just a string")
    with pytest.raises(UsersFileError, match="'users:' list"):
        UserStore(path)
    path.write_text("users: [{name: ann}]")
    with pytest.raises(UsersFileError, match="entry 1 needs name, role and password_hash"):
        UserStore(path)


def test_login_is_on_only_when_a_users_file_has_users(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    assert load_users(settings) is None
    UserStore(tmp_path / "data" / "users.yaml").add("ann", "correct horse", "admin")
    assert load_users(settings) is not None
    configured = Settings(data_dir=tmp_path / "data", users_file=tmp_path / "missing.yaml")
    with pytest.raises(UsersFileError, match="does not exist"):
        load_users(configured)


def test_users_commands(tmp_path: Path) -> None:
    runner = CliRunner()
    added = runner.invoke(
        cli.main, ["users", "add", "ann", "--role", "admin"], input="sekret-pw\nsekret-pw\n"
    )
    assert added.exit_code == 0, added.output
    assert "Saved user ann (admin)" in added.output and "sekret-pw" not in added.output
    mismatch = runner.invoke(cli.main, ["users", "add", "rob"], input="sekret-pw\nother-pw\nx\n")
    assert mismatch.exit_code != 0 or "do not match" in mismatch.output
    short = runner.invoke(cli.main, ["users", "add", "rob"], input="short\nshort\n")
    assert short.exit_code == 1 and "at least 8" in short.output and "Traceback" not in short.output
    listed = runner.invoke(cli.main, ["users", "list"])
    assert listed.output.strip() == "ann\tadmin"
    assert UserStore(tmp_path / "data" / "users.yaml").verify("ann", "sekret-pw")
    removed = runner.invoke(cli.main, ["users", "remove", "ann"])
    assert removed.exit_code == 0 and "No users are left" in removed.output
    missing = runner.invoke(cli.main, ["users", "remove", "ann"])
    assert missing.exit_code == 1 and "No user named 'ann'" in missing.output
