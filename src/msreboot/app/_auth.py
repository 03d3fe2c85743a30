"""The gate in front of the dashboard: login form, signed session cookie, logout, rate
limiting of failed logins, role checks on patient-level downloads, upload size limits.

Every request (HTTP and websocket) passes through :class:`AuthGate`; only ``/login`` is
served without a valid session. The cookie holds the user name, a fingerprint of the user's
stored password hash, an expiry time and a random nonce, signed with HMAC-SHA256 under the
configuration's secret. The gate reads the configuration file again whenever it changes
(its modification time, size or inode), and checks user, role and fingerprint on every
request, so removing a user or resetting their password ends their sessions at their next
request, and a new secret ends everyone's. Logging out ends that session on the server
too: its nonce is refused until the cookie would have expired (kept in memory, so a
restart forgets it; change the secret to end every session for certain).

Failed logins are counted per user name and per client address; behind a reverse proxy
listed in ``server.trusted_proxies`` the client is read from ``X-Forwarded-For``. An
unknown user name costs the same scrypt work as a wrong password.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import json
import logging
import os
import re
import secrets
import time
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from msreboot.app._config import AppConfig, AppUser, load_app_config, reject_password

__all__ = [
    "COOKIE",
    "PATIENT_DOWNLOADS",
    "AuthGate",
    "RateLimiter",
    "client_address",
    "session_fingerprint",
    "sign_session",
]

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

COOKIE = "msreboot_session"
#: Downloads of patient-level data: refused to viewers at the gate (and in the app).
PATIENT_DOWNLOADS = frozenset(
    {"patients_csv", "patient_timeline_csv", "problems_csv", "patient_sheet"}
)
_DOWNLOAD = re.compile(r"^/session/[^/]+/download/([A-Za-z0-9_]+)")
_UPLOAD = re.compile(r"^/session/[^/]+/upload/")
_LENGTH = re.compile(r"[0-9]{1,18}")
_LOG = logging.getLogger("msreboot.app")
_HEADERS = [
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"cache-control", b"no-store"),
]


def session_fingerprint(secret: str, user: AppUser) -> str:
    """16 hex characters of an HMAC-SHA256 (under ``secret``) of the user's name, salt and
    stored password hash: a new password (new salt and hash) gives a new fingerprint, so the
    cookies signed before it no longer match."""
    message = "\0".join(("session", user.name, user.salt, user.password_hash)).encode()
    return hmac.new(bytes.fromhex(secret), message, hashlib.sha256).hexdigest()[:16]


def sign_session(secret: str, user: AppUser, minutes: int, *, now: float | None = None) -> str:
    """A session cookie value for ``user`` that expires after ``minutes``."""
    expires = int((time.time() if now is None else now) + 60 * minutes)
    body = {
        "u": user.name,
        "f": session_fingerprint(secret, user),
        "exp": expires,
        "n": secrets.token_hex(8),
    }
    payload = base64.urlsafe_b64encode(json.dumps(body).encode()).decode().rstrip("=")
    mac = hmac.new(bytes.fromhex(secret), payload.encode(), hashlib.sha256).hexdigest()
    return f"{payload}.{mac}"


@dataclass(frozen=True)
class _Session:
    name: str
    fingerprint: str
    nonce: str
    expires: float


def _verify(secret: str, value: str, *, now: float | None = None) -> _Session | None:
    """The session a cookie value holds, or ``None`` (forged, expired, malformed)."""
    if not value.isascii():
        return None
    payload, _, mac = value.partition(".")
    good = hmac.new(bytes.fromhex(secret), payload.encode(), hashlib.sha256).hexdigest()
    if not mac or not hmac.compare_digest(good, mac):
        return None
    try:
        body = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except ValueError:
        return None
    if not isinstance(body, dict):
        return None
    expires, name, fingerprint, nonce = (body.get(k) for k in ("exp", "u", "f", "n"))
    if isinstance(expires, bool) or not isinstance(expires, int | float):
        return None
    if expires < (time.time() if now is None else now):
        return None
    if not (isinstance(name, str) and isinstance(fingerprint, str) and isinstance(nonce, str)):
        return None
    return _Session(name=name, fingerprint=fingerprint, nonce=nonce, expires=float(expires))


def client_address(scope: Scope, trusted_proxies: tuple[str, ...] = ()) -> str:
    """The address failed logins are counted and logged under.

    The connecting address, unless it is one of ``trusted_proxies`` (addresses or networks,
    ``server.trusted_proxies``): then ``X-Forwarded-For`` is read from its right end, each
    proxy's hop skipped while it is trusted, and the first untrusted hop is the client (a
    malformed hop stops the walk at the proxy that passed it on). Hops left of the client
    were written by the client and are never believed.
    """
    peer = str((scope.get("client") or ("unknown", 0))[0])
    if not trusted_proxies or not _trusted(peer, trusted_proxies):
        return peer
    hops = [
        hop.strip()
        for key, value in scope.get("headers", [])
        if key == b"x-forwarded-for"
        for hop in value.decode("latin-1").split(",")
    ]
    address = peer
    for hop in reversed(hops):
        if _ip(hop) is None:
            break
        address = hop
        if not _trusted(hop, trusted_proxies):
            break
    return address


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


@lru_cache(maxsize=16)
def _networks(
    trusted_proxies: tuple[str, ...],
) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(item, strict=False) for item in trusted_proxies)


def _trusted(address: str, trusted_proxies: tuple[str, ...]) -> bool:
    ip = _ip(address)
    return ip is not None and any(ip in net for net in _networks(trusted_proxies))


@dataclass
class RateLimiter:
    """Failed logins allowed per user and per client within a sliding window.

    Attributes
    ----------
    per_user, per_client
        Failures allowed in the window before further attempts are refused (HTTP 429).
    window_seconds
        The window's length.
    """

    per_user: int = 5
    per_client: int = 20
    window_seconds: float = 900.0
    _failures: dict[str, deque[float]] = field(default_factory=lambda: defaultdict(deque))

    def _recent(self, key: str, now: float) -> int:
        times = self._failures[key]
        while times and times[0] <= now - self.window_seconds:
            times.popleft()
        return len(times)

    def blocked(self, user: str, client: str, *, now: float | None = None) -> bool:
        """Whether a login for ``user`` from ``client`` is refused now."""
        now = time.monotonic() if now is None else now
        return (
            self._recent(f"u:{user}", now) >= self.per_user
            or self._recent(f"c:{client}", now) >= self.per_client
        )

    def fail(self, user: str, client: str, *, now: float | None = None) -> None:
        """Record a failed login."""
        now = time.monotonic() if now is None else now
        self._failures[f"u:{user}"].append(now)
        self._failures[f"c:{client}"].append(now)


_FORM = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>msreboot: log in</title><link rel="icon" href="data:,">
<style>body{{font-family:sans-serif;max-width:22rem;margin:4rem auto}}
label,input,button{{display:block;width:100%;margin:.3rem 0}}.msg{{color:#b00}}</style></head>
<body><h1>msreboot</h1><p>Log in to the dashboard.</p>{message}
<form method="post" action="/login"><label for="username">User</label>
<input id="username" name="username" autocomplete="username" required>
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<button id="login" type="submit">Log in</button></form></body></html>"""


def _cookies(scope: Scope) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in scope.get("headers", []):
        if key == b"cookie":
            for part in value.decode("latin-1").split(";"):
                name, _, val = part.strip().partition("=")
                out[name] = val
    return out


def _header(scope: Scope, name: bytes) -> str:
    for key, value in scope.get("headers", []):
        if key == name:
            return str(value.decode("latin-1"))
    return ""


class AuthGate:
    """An ASGI wrapper that lets only logged-in users through to the dashboard.

    Parameters
    ----------
    app
        The ASGI application behind the gate (the Shiny app).
    config
        Users, secret, session length and upload limit.
    limiter
        Failed-login limits (default :class:`RateLimiter`).
    """

    def __init__(self, app: ASGIApp, config: AppConfig, limiter: RateLimiter | None = None) -> None:
        self.app = app
        self._config = config
        self._stamp = _stamp(config.path)
        self.limiter = limiter or RateLimiter()
        self._revoked: dict[str, float] = {}

    @property
    def config(self) -> AppConfig:
        """The configuration, read again from its file whenever the file has changed.

        A file that has become unreadable or malformed is logged and lets nobody in until
        it is fixed (fail closed), rather than keeping users it may have meant to remove.
        """
        stamp = _stamp(self._config.path)
        if stamp != self._stamp:
            self._stamp = stamp
            try:
                self._config = load_app_config(self._config.path)
                _LOG.info("app configuration read again from %s", self._config.path)
            except (OSError, ValueError) as exc:
                _LOG.error("app configuration unusable, nobody gets in until it is fixed: %s", exc)
                self._config = replace(self._config, users={})
        return self._config

    def user(self, scope: Scope) -> AppUser | None:
        """The logged-in user of a request, or ``None``."""
        value = _cookies(scope).get(COOKIE)
        if not value:
            return None
        config = self.config
        session = _verify(config.secret, value)
        if session is None or session.nonce in self._revoked:
            return None
        user = config.users.get(session.name)
        if user is None:
            return None
        fingerprint = session_fingerprint(config.secret, user)
        return user if hmac.compare_digest(fingerprint, session.fingerprint) else None

    def _revoke(self, scope: Scope) -> None:
        """Refuse the request's session from now on (until it would have expired)."""
        now = time.time()
        self._revoked = {nonce: exp for nonce, exp in self._revoked.items() if exp >= now}
        value = _cookies(scope).get(COOKIE)
        session = _verify(self.config.secret, value) if value else None
        if session is not None:
            self._revoked[session.nonce] = session.expires
            _LOG.info("logout: %s", session.name)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve ``/login`` and ``/logout``; pass logged-in requests on, refuse the rest."""
        kind = scope["type"]
        if kind not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        if kind == "http" and path == "/login":
            await self._login(scope, receive, send)
            return
        if kind == "http" and path == "/logout":
            self._revoke(scope)
            await _respond(send, 303, b"", [(b"location", b"/login"), self._clear()])
            return
        user = self.user(scope)
        if user is not None and kind == "websocket" and not _same_origin(scope):
            _LOG.warning("websocket from another origin refused (%s)", user.name)
            await send({"type": "websocket.close", "code": 4403})
            return
        if user is None:
            if kind == "websocket":
                await send({"type": "websocket.close", "code": 4401})
            elif scope.get("method") == "GET" and path == "/":
                await _respond(send, 303, b"", [(b"location", b"/login")])
            else:
                await _respond(send, 401, b"log in first: /login", [])
            return
        if kind == "http":
            match = _DOWNLOAD.match(path)
            if match and user.role != "analyst" and match.group(1) in PATIENT_DOWNLOADS:
                _LOG.warning("patient-level download refused to a viewer (%s)", user.name)
                await _respond(send, 403, b"patient-level data: analysts only", [])
                return
            if _UPLOAD.match(path):
                if user.role != "analyst":
                    await _respond(send, 403, b"uploads: analysts only", [])
                    return
                length = _header(scope, b"content-length")
                if not _LENGTH.fullmatch(length) or int(length) > self.config.max_upload_mb * 2**20:
                    await _respond(send, 413, b"upload too large or without a length", [])
                    return
        scope["msreboot.user"] = (user.name, user.role)
        if kind == "websocket":
            receive, send = self._watched(scope, user, receive, send)
        await self.app(scope, receive, _with_headers(send) if kind == "http" else send)

    def _watched(
        self, scope: Scope, user: AppUser, receive: Receive, send: Send
    ) -> tuple[Receive, Send]:
        """A websocket's receive and send that close it (code 4401) at the first message
        after its session has ended (logout, user removed, password, role or secret
        changed), so an open tab does not outlive its session."""
        closed = False

        async def checked_receive() -> MutableMapping[str, Any]:
            nonlocal closed
            if closed:
                return {"type": "websocket.disconnect", "code": 4401}
            message = await receive()
            if message["type"] == "websocket.receive":
                now = self.user(scope)
                if now is None or now.role != user.role:
                    _LOG.info("websocket closed: the session of %s has ended", user.name)
                    closed = True
                    await send({"type": "websocket.close", "code": 4401})
                    return {"type": "websocket.disconnect", "code": 4401}
            return message

        async def checked_send(message: MutableMapping[str, Any]) -> None:
            if not closed:
                await send(message)

        return checked_receive, checked_send

    def _clear(self) -> tuple[bytes, bytes]:
        return (
            b"set-cookie",
            f"{COOKIE}=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict".encode(),
        )

    async def _login(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("method") != "POST":
            await _respond(send, 200, _FORM.format(message="").encode(), _html())
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if len(body) > 8192:
                await _respond(send, 413, b"login form too large", [])
                return
            if not message.get("more_body"):
                break
        form = parse_qs(body.decode("utf-8", "replace"))
        name = form.get("username", [""])[0][:64]
        password = form.get("password", [""])[0]
        config = self.config
        client = client_address(scope, config.trusted_proxies)
        if self.limiter.blocked(name, client):
            _LOG.warning("login refused (too many failures) for %r from %s", name, client)
            page = _FORM.format(
                message='<p class="msg">Too many failed logins; try again later.</p>'
            )
            await _respond(send, 429, page.encode(), _html())
            return
        user = config.users.get(name)
        ok = user.check_password(password) if user is not None else reject_password(password)
        if user is None or not ok:
            self.limiter.fail(name, client)
            _LOG.warning("login failed for %r from %s", name, client)
            page = _FORM.format(message='<p class="msg">Wrong user or password.</p>')
            await _respond(send, 401, page.encode(), _html())
            return
        _LOG.info("login: %s (%s) from %s", user.name, user.role, client)
        value = sign_session(config.secret, user, config.session_minutes)
        secure = "; Secure" if _header(scope, b"x-forwarded-proto") == "https" else ""
        if scope.get("scheme") == "https":
            secure = "; Secure"
        cookie = (
            f"{COOKIE}={value}; Path=/; Max-Age={60 * config.session_minutes}; "
            f"HttpOnly; SameSite=Strict{secure}"
        )
        await _respond(send, 303, b"", [(b"location", b"/"), (b"set-cookie", cookie.encode())])


def _stamp(path: Path) -> tuple[int, int, int] | None:
    try:
        info = os.stat(path)
    except OSError:
        return None
    return (info.st_mtime_ns, info.st_size, info.st_ino)


def _same_origin(scope: Scope) -> bool:
    """Whether a websocket's ``Origin`` (when sent) names the host it connects to."""
    origin = _header(scope, b"origin")
    if not origin:
        return True
    host = _header(scope, b"host")
    return origin.split("://", 1)[-1].rstrip("/") == host


def _html() -> list[tuple[bytes, bytes]]:
    return [(b"content-type", b"text/html; charset=utf-8")]


async def _respond(
    send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]]
) -> None:
    if not any(k == b"content-type" for k, _ in headers):
        headers = [*headers, (b"content-type", b"text/plain; charset=utf-8")]
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [*headers, *_HEADERS, (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _with_headers(send: Send) -> Send:
    async def wrapped(message: MutableMapping[str, Any]) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": [*message.get("headers", []), *_HEADERS[:3]]}
        await send(message)

    return wrapped
