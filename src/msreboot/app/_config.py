"""The dashboard's configuration file: users with scrypt password hashes, and the secret
that signs session cookies.

The file is TOML, written atomically (a temporary file in the same folder, then a rename)
with mode 0600, so a half-written or world-readable file never exists. There is no default
user and no default password: :func:`add_user` is the only way in.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import os
import re
import secrets
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

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
    "reject_password",
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


def reject_password(password: str) -> bool:
    """``False``, after the same scrypt work as checking a real user's password, so that an
    unknown user name is not answered faster than a known one."""
    _hash(password, bytes(_SALT_BYTES), SCRYPT_N, SCRYPT_R, SCRYPT_P)
    return False


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
    trusted_proxies
        Addresses or networks of reverse proxies whose ``X-Forwarded-For`` is believed
        (``server.trusted_proxies``; default none: the connecting address is the client).
    """

    path: Path
    users: dict[str, AppUser] = field(repr=False)
    secret: str = field(repr=False)
    session_minutes: int = 480
    data_dir: Path = Path("msreboot-app-data")
    max_upload_mb: int = 50
    trusted_proxies: tuple[str, ...] = ()

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
    server = _table(raw.get("server", {}), "server", path)
    users: dict[str, AppUser] = {}
    for name, entry in _table(raw.get("users", {}), "users", path).items():
        users[name] = _user(name, entry, path)
    secret = server.get("secret", "")
    if not isinstance(secret, str) or len(secret) < 32 or not _is_hex(secret):
        got = (
            f"{len(secret)} characters{'' if _is_hex(secret) else ', not all hex'}"
            if isinstance(secret, str)
            else type(secret).__name__
        )
        raise ValueError(
            f"server.secret must be at least 32 hex characters (0-9, a-f, an even number); "
            f"got {got} in {path}. Replace it with the output of "
            "`python -c 'import secrets; print(secrets.token_hex(32))'`."
        )
    data_dir = Path(str(server.get("data_dir", "msreboot-app-data")))
    if not data_dir.is_absolute():
        data_dir = path.parent / data_dir
    return AppConfig(
        path=path,
        users=users,
        secret=secret,
        session_minutes=_positive_int(server, "session_minutes", 480, "server", path),
        data_dir=data_dir,
        max_upload_mb=_positive_int(server, "max_upload_mb", 50, "server", path),
        trusted_proxies=_trusted_proxies(server.get("trusted_proxies", []), path),
    )


def _is_hex(text: str) -> bool:
    return len(text) % 2 == 0 and re.fullmatch(r"[0-9a-fA-F]*", text) is not None


def _table(value: object, key: str, path: Path) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValueError(
            f"{key} must be a table ([{key}] or [{key}.NAME]); got {type(value).__name__} "
            f"in {path}. Fix {path}."
        )
    return value


def _positive_int(table: dict[str, Any], key: str, default: int, where: str, path: Path) -> int:
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(
            f"{where}.{key} must be a whole number of at least 1; got {value!r} in {path}. "
            "Fix the file."
        )
    return value


def _user(name: str, entry: object, path: Path) -> AppUser:
    """One ``[users.NAME]`` table, checked (role, hex salt and hash, scrypt parameters)."""
    where = f"users.{name}"
    if not isinstance(entry, dict):
        raise ValueError(
            f"{where} must be a table with role, salt and hash; got {type(entry).__name__} "
            f"in {path}. Fix {path} or add the user again."
        )
    role = entry.get("role")
    if role not in ROLES:
        raise ValueError(
            f"{where}.role must be one of {', '.join(ROLES)}; got {role!r}. "
            f"Fix {path} or add the user again."
        )
    for key in ("salt", "hash"):
        value = entry.get(key)
        if not isinstance(value, str) or not value or not _is_hex(value):
            got = "nothing" if value is None else repr(value)[:20]
            raise ValueError(
                f"{where}.{key} must be a hex string written by `msreboot app adduser`; "
                f"got {got} in {path}. Add the user again to write a new one."
            )
    return AppUser(
        name=name,
        role=role,
        salt=entry["salt"],
        password_hash=entry["hash"],
        n=_positive_int(entry, "n", SCRYPT_N, where, path),
        r=_positive_int(entry, "r", SCRYPT_R, where, path),
        p=_positive_int(entry, "p", SCRYPT_P, where, path),
    )


def _trusted_proxies(value: object, path: Path) -> tuple[str, ...]:
    """``server.trusted_proxies``: addresses or networks (``"127.0.0.1"``, ``"10.0.0.0/8"``)."""
    if not isinstance(value, list):
        raise ValueError(
            f'server.trusted_proxies must be a list of addresses, e.g. ["127.0.0.1"]; got '
            f"{type(value).__name__} in {path}. Fix the file."
        )
    for item in value:
        try:
            ipaddress.ip_network(str(item), strict=False)
        except ValueError:
            raise ValueError(
                f"server.trusted_proxies must list IP addresses or networks; got {item!r} in "
                f"{path}. Fix the file."
            ) from None
    return tuple(str(item) for item in value)


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
        "# Reverse proxies whose X-Forwarded-For is believed (none: the peer is the client).",
        f"trusted_proxies = [{', '.join(_quote(a) for a in config.trusted_proxies)}]",
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
        trusted_proxies=config.trusted_proxies,
    )
    _write(new)
    return load_app_config(path)
