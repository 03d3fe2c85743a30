"""A malformed app configuration is refused at load with a message naming the key and the
file; uploads (patient data) are private to the process's user whatever the umask."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from msreboot.app import UploadFolder, add_user, load_app_config

SECRET = "ab" * 32
USER = 'role = "analyst"\nsalt = "' + "00" * 16 + '"\nhash = "' + "11" * 32 + '"\n'


def _file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "app.toml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("text", "match"),
    [
        (f'[server]\nsecret = "{"zz" * 32}"\n', "server.secret must be at least 32 hex"),
        (f'[server]\nsecret = "{"a" * 33}"\n', "server.secret must be at least 32 hex"),
        ('[server]\nsecret = "abcd"\n', "server.secret must be at least 32 hex"),
        ("[server]\nsecret = 12\n", "server.secret must be at least 32 hex"),
        (
            f'[server]\nsecret = "{SECRET}"\n[users.bob]\nrole = "viewer"\nhash = "aa"\n',
            "users.bob.salt must be a hex string",
        ),
        (
            f'[server]\nsecret = "{SECRET}"\n[users.bob]\nrole = "viewer"\nsalt = "aa"\n',
            "users.bob.hash must be a hex string",
        ),
        (
            f'[server]\nsecret = "{SECRET}"\n[users.bob]\nrole = "viewer"\nsalt = "xyz"\n'
            'hash = "aa"\n',
            "users.bob.salt must be a hex string",
        ),
        (f'[server]\nsecret = "{SECRET}"\n[users]\nbob = "analyst"\n', "users.bob must be a table"),
        (f'users = 3\n[server]\nsecret = "{SECRET}"\n', "users must be a table"),
        (
            f'[server]\nsecret = "{SECRET}"\n[users.bob]\n{USER}n = "big"\n',
            "users.bob.n must be a whole number",
        ),
        (
            f'[server]\nsecret = "{SECRET}"\nsession_minutes = 0\n',
            "server.session_minutes must be a whole number",
        ),
        (
            f'[server]\nsecret = "{SECRET}"\ntrusted_proxies = "127.0.0.1"\n',
            "server.trusted_proxies must be a list",
        ),
        (
            f'[server]\nsecret = "{SECRET}"\ntrusted_proxies = ["proxy.local"]\n',
            "server.trusted_proxies must list IP addresses",
        ),
    ],
    ids=[
        "secret-not-hex",
        "secret-odd",
        "secret-short",
        "secret-number",
        "no-salt",
        "no-hash",
        "salt-not-hex",
        "user-not-table",
        "users-not-table",
        "n-not-number",
        "session-zero",
        "proxies-not-list",
        "proxy-not-ip",
    ],
)
def test_a_malformed_config_names_the_key_and_the_file(
    tmp_path: Path, text: str, match: str
) -> None:
    path = _file(tmp_path, text)
    with pytest.raises(ValueError, match=match) as info:
        load_app_config(path)
    assert str(path) in str(info.value)


def test_trusted_proxies_are_read_and_kept_by_add_user(tmp_path: Path) -> None:
    path = _file(
        tmp_path,
        f'[server]\nsecret = "{SECRET}"\ntrusted_proxies = ["127.0.0.1", "10.0.0.0/8"]\n'
        f"[users.bob]\n{USER}",
    )
    assert load_app_config(path).trusted_proxies == ("127.0.0.1", "10.0.0.0/8")
    config = add_user(path, "carol", "a long password", "viewer")
    assert config.trusted_proxies == ("127.0.0.1", "10.0.0.0/8")
    assert set(config.users) == {"bob", "carol"}
    assert (
        load_app_config(_file(tmp_path, f'[server]\nsecret = "{SECRET}"\n')).trusted_proxies == ()
    )


@pytest.fixture
def open_umask() -> Iterator[None]:
    old = os.umask(0o022)
    yield
    os.umask(old)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.usefixtures("open_umask")
def test_uploads_are_private_whatever_the_umask(tmp_path: Path) -> None:
    source = tmp_path / "source.csv"
    source.write_text("patient_id\nP1\n")
    folder = UploadFolder(tmp_path / "data", 1000)
    saved = folder.save("patients.csv", source)
    assert _mode(folder.root) == 0o700
    assert _mode(folder.root.parent) == 0o700
    assert _mode(saved) == 0o600
    assert saved.read_text() == "patient_id\nP1\n"
    saved.chmod(0o644)
    source.write_text("patient_id\nP2\n")
    again = folder.save("patients.csv", source)
    assert _mode(again) == 0o600
    assert again.read_text() == "patient_id\nP2\n"
    other = UploadFolder(tmp_path / "data", 1000)
    assert _mode(other.save("visits.csv", source)) == 0o600
    assert _mode(other.root) == 0o700


@pytest.mark.usefixtures("open_umask")
def test_an_upload_is_not_written_through_a_link(tmp_path: Path) -> None:
    source = tmp_path / "source.csv"
    source.write_text("patient_id\nP1\n")
    folder = UploadFolder(tmp_path / "data", 1000)
    folder.save("patients.csv", source)
    outside = tmp_path / "outside.csv"
    outside.write_text("untouched\n")
    (folder.root / "visits.csv").symlink_to(outside)
    with pytest.raises(ValueError, match="upload name must stay in the upload folder"):
        folder.save("visits.csv", source)
    assert outside.read_text() == "untouched\n"
