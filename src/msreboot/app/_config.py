"""The dashboard's configuration file: users with scrypt password hashes, and the secret
that signs session cookies.

The file is TOML, written atomically (a temporary file in the same folder, then a rename)
with mode 0600, so a half-written or world-readable file never exists. There is no default
user and no default password: :func:`add_user` is the only way in.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pandas as pd

from msreboot.data import parse_toml

__all__ = [
    "ROLES",
    "SCRYPT_N",
    "SCRYPT_P",
    "SCRYPT_R",
    "AppConfig",
    "AppUser",
    "add_user",
    "default_config_path",
    "load_app_config",
]

Role = Literal["viewer", "analyst"]
#: The roles: ``viewer`` sees de-identified results only; ``analyst`` sees everything.
ROLES: tuple[Role, ...] = ("viewer", "analyst")
#: scrypt cost parameters (RFC 7914): N = 2**15, r = 8, p = 1 (32 MiB, about 0.1 s a hash).
SCRYPT_N = 2**15
SCRYPT_R = 8
SCRYPT_P = 1
_SALT_BYTES = 16
_KEY_BYTES = 32
_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
_MIN_PASSWORD = 10


def default_config_path() -> Path:
    """``$MSREBOOT_APP_CONFIG``, else ``~/.config/msreboot/app.toml``."""
    env = os.environ.get("MSREBOOT_APP_CONFIG")
    if env:
        return Path(env)
    return Path.home() / ".config" / "msreboot" / "app.toml"


def _hash(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=256 * n * r, dklen=_KEY_BYTES
    )


@dataclass(frozen=True)
class AppUser:
    """One user of the dashboard.

    Attributes
    ----------
    name
        Login name (letters, digits, ``_``, ``.``, ``-``; at most 64 characters).
    role
        ``"viewer"`` or ``"analyst"``.
    salt, password_hash
        The per-user random salt and the scrypt hash of the password (hex).
    n, r, p
        The scrypt parameters the hash was made with.
    """

    name: str
    role: Role
    salt: str = field(repr=False)
    password_hash: str = field(repr=False)
    n: int = SCRYPT_N
    r: int = SCRYPT_R
    p: int = SCRYPT_P

    def check_password(self, password: str) -> bool:
        """Whether ``password`` is this user's (constant-time comparison)."""
        digest = _hash(password, bytes.fromhex(self.salt), self.n, self.r, self.p)
        return hmac.compare_digest(digest.hex(), self.password_hash)


@dataclass(frozen=True)
class AppConfig:
    """The dashboard's configuration, read from its TOML file.

    Attributes
    ----------
    path
        The file it was read from.
    users
        The users by name.
    secret
        The key that signs session cookies (hex); a new one logs everyone out.
    session_minutes
        How long a session lasts after login.
    data_dir
        The folder uploads are written to (in a per-session subfolder, removed at the end).
    max_upload_mb
        The largest upload accepted.
    """

    path: Path
    users: dict[str, AppUser] = field(repr=False)
    secret: str = field(repr=False)
    session_minutes: int = 480
    data_dir: Path = Path("msreboot-app-data")
    max_upload_mb: int = 50

    def to_frame(self) -> pd.DataFrame:
        """The users and roles as a table (no hashes)."""
        return pd.DataFrame(
            {"name": list(self.users), "role": [u.role for u in self.users.values()]}
        )

    def summary(self) -> str:
        """One line per user, with the session length and data folder."""
        lines = [f"{self.path}: {len(self.users)} user(s), sessions {self.session_minutes} min"]
        lines += [f"  {u.name} ({u.role})" for u in self.users.values()]
        lines.append(f"  data folder {self.data_dir}, uploads up to {self.max_upload_mb} MB")
        return "\n".join(lines)


def load_app_config(path: str | Path | None = None) -> AppConfig:
    """Read the dashboard's configuration file.

    Parameters
    ----------
    path
        The TOML file; default :func:`default_config_path`.

    Returns
    -------
    AppConfig

    Raises
    ------
    FileNotFoundError
        No such file (``msreboot app adduser NAME --role analyst`` makes one).
    ValueError
        A malformed file.
    """
    path = Path(path) if path is not None else default_config_path()
    if not path.is_file():
        raise FileNotFoundError(
            f"the app configuration must exist; got no file {path}. Add a user with "
            "`msreboot app adduser NAME --role analyst`."
        )
    raw = parse_toml(path.read_text(encoding="utf-8"), what="app configuration", where=str(path))
    server = raw.get("server", {})
    users: dict[str, AppUser] = {}
    for name, entry in dict(raw.get("users", {})).items():
        role = entry.get("role")
        if role not in ROLES:
            raise ValueError(
                f"users.{name}.role must be one of {', '.join(ROLES)}; got {role!r}. "
                f"Fix {path} or add the user again."
            )
        users[name] = AppUser(
            name=name,
            role=role,
            salt=str(entry["salt"]),
            password_hash=str(entry["hash"]),
            n=int(entry.get("n", SCRYPT_N)),
            r=int(entry.get("r", SCRYPT_R)),
            p=int(entry.get("p", SCRYPT_P)),
        )
    secret = str(server.get("secret", ""))
    if len(secret) < 32:
        raise ValueError(
            f"server.secret must be at least 32 hex characters; got {len(secret)}. "
            "Add a user with `msreboot app adduser` to write a new one."
        )
    data_dir = Path(str(server.get("data_dir", "msreboot-app-data")))
    if not data_dir.is_absolute():
        data_dir = path.parent / data_dir
    return AppConfig(
        path=path,
        users=users,
        secret=secret,
        session_minutes=int(server.get("session_minutes", 480)),
        data_dir=data_dir,
        max_upload_mb=int(server.get("max_upload_mb", 50)),
    )


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _write(config: AppConfig) -> None:
    lines = [
        "# msreboot dashboard: users and the session-signing secret. Keep this file private.",
        f"# Passwords are scrypt hashes (n={SCRYPT_N}, r={SCRYPT_R}, p={SCRYPT_P}, "
        "16-byte random salt per user).",
        "[server]",
        f"secret = {_quote(config.secret)}",
        f"session_minutes = {config.session_minutes}",
        f"data_dir = {_quote(str(config.data_dir))}",
        f"max_upload_mb = {config.max_upload_mb}",
        "",
    ]
    for user in config.users.values():
        lines += [
            f"[users.{_quote(user.name)}]",
            f"role = {_quote(user.role)}",
            f"salt = {_quote(user.salt)}",
            f"hash = {_quote(user.password_hash)}",
            f"n = {user.n}",
            f"r = {user.r}",
            f"p = {user.p}",
            "",
        ]
    config.path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=config.path.parent, prefix=".app-", suffix=".toml")
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write("\n".join(lines))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, config.path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def add_user(path: str | Path | None, name: str, password: str, role: Role) -> AppConfig:
    """Add a user (or replace their password and role) in the configuration file.

    The file is created with a new random session secret when it does not exist, and is
    rewritten atomically with mode 0600.

    Parameters
    ----------
    path
        The TOML file; default :func:`default_config_path`.
    name
        Login name (letters, digits, ``_``, ``.``, ``-``; at most 64 characters).
    password
        At least 10 characters; only its scrypt hash is stored.
    role
        ``"viewer"`` or ``"analyst"``.

    Returns
    -------
    AppConfig
        The configuration as written.

    Raises
    ------
    ValueError
        A bad name, a short password or an unknown role.
    """
    if not _NAME.match(name):
        raise ValueError(
            f"name must be 1-64 letters, digits, '_', '.' or '-'; got {name!r}. Choose another."
        )
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}; got {role!r}.")
    if len(password) < _MIN_PASSWORD:
        raise ValueError(
            f"password must have at least {_MIN_PASSWORD} characters; got {len(password)}. "
            "Choose a longer one."
        )
    path = Path(path) if path is not None else default_config_path()
    if path.is_file():
        config = load_app_config(path)
    else:
        config = AppConfig(path=path, users={}, secret=secrets.token_hex(32))
    salt = secrets.token_bytes(_SALT_BYTES)
    user = AppUser(
        name=name,
        role=role,
        salt=salt.hex(),
        password_hash=_hash(password, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P).hex(),
    )
    data_dir = config.data_dir
    new = AppConfig(
        path=path,
        users={**config.users, name: user},
        secret=config.secret,
        session_minutes=config.session_minutes,
        data_dir=data_dir,
        max_upload_mb=config.max_upload_mb,
    )
    _write(new)
    return load_app_config(path)
