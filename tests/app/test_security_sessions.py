"""Sessions end when they should: at logout (even for a copied cookie), when a user is
removed or their password reset, when the secret changes; failed logins are counted per
real client behind a trusted proxy, and an unknown user name costs the same scrypt work."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import MutableMapping
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("shiny")
pytest.importorskip("httpx2")

from starlette.testclient import TestClient

from msreboot.app import AppConfig, RateLimiter, add_user, create_app, load_app_config
from msreboot.app._auth import COOKIE, AuthGate, client_address
from msreboot.app._config import SCRYPT_N, SCRYPT_P, SCRYPT_R, _write

ANALYST_PW = "analyst password 1"
VIEWER_PW = "viewer password 12"


@pytest.fixture
def config(tmp_path: Path) -> AppConfig:
    path = tmp_path / "app.toml"
    add_user(path, "ana", ANALYST_PW, "analyst")
    return add_user(path, "vic", VIEWER_PW, "viewer")


def _login(client: TestClient, name: str, password: str, **headers: str) -> int:
    r = client.post(
        "/login",
        data={"username": name, "password": password},
        headers=headers,
        follow_redirects=False,
    )
    return r.status_code


def _in(client: TestClient, cookie: str) -> bool:
    client.cookies.set(COOKIE, cookie)
    return client.get("/", follow_redirects=False).status_code == 200


def _logged_in(gate: AuthGate, name: str, password: str) -> tuple[TestClient, str]:
    client = TestClient(gate)
    assert _login(client, name, password) == 303
    cookie = client.cookies.get(COOKIE)
    assert cookie
    return client, cookie


def test_logout_ends_the_session_on_the_server(config: AppConfig) -> None:
    gate = create_app(config=config)
    client, cookie = _logged_in(gate, "ana", ANALYST_PW)
    other, other_cookie = _logged_in(gate, "ana", ANALYST_PW)
    assert client.get("/logout", follow_redirects=False).status_code == 303
    assert not _in(TestClient(gate), cookie)  # a copy of the cookie no longer works
    assert _in(other, other_cookie)  # the same user's other session goes on


def test_a_password_reset_ends_the_users_sessions(config: AppConfig) -> None:
    gate = create_app(config=config)
    client, cookie = _logged_in(gate, "ana", ANALYST_PW)
    _, viewer_cookie = _logged_in(gate, "vic", VIEWER_PW)
    add_user(config.path, "ana", "a new password 3", "analyst")
    assert not _in(client, cookie)
    assert _login(client, "ana", ANALYST_PW) == 401
    assert _login(client, "ana", "a new password 3") == 303
    assert _in(TestClient(gate), viewer_cookie)


def test_a_removed_user_is_out_at_the_next_request(config: AppConfig) -> None:
    gate = create_app(config=config)
    client, cookie = _logged_in(gate, "vic", VIEWER_PW)
    assert _in(client, cookie)
    now = load_app_config(config.path)
    users = {k: v for k, v in now.users.items() if k != "vic"}
    _write(AppConfig(path=now.path, users=users, secret=now.secret, data_dir=now.data_dir))
    assert not _in(client, cookie)
    assert _login(client, "vic", VIEWER_PW) == 401


def test_a_new_secret_in_the_file_logs_everyone_out(config: AppConfig) -> None:
    gate = create_app(config=config)
    client, cookie = _logged_in(gate, "ana", ANALYST_PW)
    text = config.path.read_text()
    config.path.write_text(text.replace(config.secret, "cd" * 32))
    assert not _in(client, cookie)
    assert _login(client, "ana", ANALYST_PW) == 303


def test_a_broken_config_file_lets_nobody_in_until_fixed(
    config: AppConfig, caplog: pytest.LogCaptureFixture
) -> None:
    gate = create_app(config=config)
    client, cookie = _logged_in(gate, "ana", ANALYST_PW)
    good = config.path.read_text()
    with caplog.at_level(logging.ERROR, logger="msreboot.app"):
        config.path.write_text(good.replace('role = "analyst"', 'role = "root"'))
        assert not _in(client, cookie)
    assert "users.ana.role must be one of" in caplog.text
    config.path.write_text(good + "\n")
    assert _in(client, cookie)


def test_failed_logins_count_the_client_behind_a_trusted_proxy(config: AppConfig) -> None:
    proxied = AppConfig(
        path=config.path,
        users=config.users,
        secret=config.secret,
        data_dir=config.data_dir,
        trusted_proxies=("127.0.0.1",),
    )
    gate = AuthGate(create_app(config=config).app, proxied, RateLimiter(per_client=2))
    client = TestClient(gate, client=("127.0.0.1", 50000))
    attacker = {"x-forwarded-for": "198.51.100.7, 203.0.113.5"}  # the left hop is forged
    for name in ("a1", "a2"):
        assert _login(client, name, "wrong password!", **attacker) == 401
    assert _login(client, "vic", VIEWER_PW, **attacker) == 429
    forged = {"x-forwarded-for": "198.51.100.8, 203.0.113.5"}
    assert _login(client, "vic", VIEWER_PW, **forged) == 429
    assert _login(client, "vic", VIEWER_PW, **{"x-forwarded-for": "203.0.113.9"}) == 303


def test_without_a_trusted_proxy_the_forwarded_header_is_ignored(config: AppConfig) -> None:
    client = TestClient(create_app(config=config, limiter=RateLimiter(per_client=2)))
    for hop in ("203.0.113.1", "203.0.113.2"):
        assert _login(client, "a1", "wrong password!", **{"x-forwarded-for": hop}) == 401
    assert _login(client, "vic", VIEWER_PW, **{"x-forwarded-for": "203.0.113.3"}) == 429


def _scope(peer: str, *forwarded: str) -> dict[str, Any]:
    headers = [(b"x-forwarded-for", hop.encode()) for hop in forwarded]
    return {"client": (peer, 1234), "headers": headers}


@pytest.mark.parametrize(
    ("peer", "forwarded", "trusted", "expected"),
    [
        ("10.0.0.2", ["203.0.113.5"], (), "10.0.0.2"),
        ("10.0.0.2", ["203.0.113.5"], ("127.0.0.1",), "10.0.0.2"),
        ("127.0.0.1", ["203.0.113.5"], ("127.0.0.1",), "203.0.113.5"),
        ("127.0.0.1", ["1.2.3.4, 203.0.113.5"], ("127.0.0.1",), "203.0.113.5"),
        (
            "127.0.0.1",
            ["1.2.3.4", "203.0.113.5, 10.1.2.3"],
            ("127.0.0.0/8", "10.0.0.0/8"),
            "203.0.113.5",
        ),
        ("127.0.0.1", ["10.1.2.3"], ("127.0.0.1", "10.0.0.0/8"), "10.1.2.3"),
        ("127.0.0.1", ["not-an-ip, 10.1.2.3"], ("127.0.0.1", "10.0.0.0/8"), "10.1.2.3"),
        ("127.0.0.1", [], ("127.0.0.1",), "127.0.0.1"),
        ("::ffff:127.0.0.1", ["2001:db8::1"], ("127.0.0.1",), "2001:db8::1"),
    ],
    ids=[
        "off",
        "peer-untrusted",
        "one-hop",
        "forged-left",
        "chain",
        "all-trusted",
        "garbage",
        "no-header",
        "mapped",
    ],
)
def test_the_client_address_is_the_last_untrusted_hop(
    peer: str, forwarded: list[str], trusted: tuple[str, ...], expected: str
) -> None:
    assert client_address(_scope(peer, *forwarded), trusted) == expected


def test_an_unknown_user_costs_the_same_scrypt_work(
    config: AppConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[int, int, int]] = []
    real = hashlib.scrypt

    def spy(password: bytes, **kw: Any) -> bytes:
        calls.append((kw["n"], kw["r"], kw["p"]))
        return real(password, **kw)

    monkeypatch.setattr(hashlib, "scrypt", spy)
    client = TestClient(create_app(config=config))
    assert _login(client, "ana", "wrong password!") == 401
    known = list(calls)
    calls.clear()
    assert _login(client, "nobody", "wrong password!") == 401
    assert known == calls == [(SCRYPT_N, SCRYPT_R, SCRYPT_P)]


def _call(gate: AuthGate, scope: dict[str, Any]) -> int:
    sent: list[MutableMapping[str, Any]] = []

    async def receive() -> MutableMapping[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    asyncio.run(gate(scope, receive, send))
    return int(sent[0]["status"])


def test_a_non_ascii_cookie_or_length_is_refused_not_an_error(config: AppConfig) -> None:
    gate = create_app(config=config)
    base = {"type": "http", "method": "GET", "path": "/", "client": ("127.0.0.1", 1)}
    for value in ("\u00e9t\u00e9.abc", "abc.\u00e9t\u00e9", "\u00e9"):
        cookie = f"{COOKIE}={value}".encode()
        assert _call(gate, {**base, "headers": [(b"cookie", cookie)]}) == 303
    _, good = _logged_in(gate, "ana", ANALYST_PW)
    upload = {**base, "method": "POST", "path": "/session/abc/upload/j"}
    for length in ("\u00b2".encode("latin-1"), "\u0663".encode(), b"-1", b" 5"):
        headers = [(b"cookie", f"{COOKIE}={good}".encode()), (b"content-length", length)]
        assert _call(gate, {**upload, "headers": headers}) == 413


async def _echo(scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
    """A stand-in for Shiny's websocket: echoes each text message."""
    assert (await receive())["type"] == "websocket.connect"
    await send({"type": "websocket.accept"})
    while True:
        message = await receive()
        if message["type"] == "websocket.disconnect":
            return
        await send({"type": "websocket.send", "text": message.get("text", "")})


@pytest.mark.parametrize("how", ["logout", "removed", "role"])
def test_an_open_websocket_closes_when_its_session_ends(config: AppConfig, how: str) -> None:
    from starlette.websockets import WebSocketDisconnect

    gate = AuthGate(_echo, config)
    client, _ = _logged_in(gate, "vic", VIEWER_PW)
    with client.websocket_connect("/websocket/") as socket:
        socket.send_text("a")
        assert socket.receive_text() == "a"
        if how == "logout":
            assert client.get("/logout", follow_redirects=False).status_code == 303
        elif how == "removed":
            now = load_app_config(config.path)
            users = {k: v for k, v in now.users.items() if k != "vic"}
            _write(AppConfig(path=now.path, users=users, secret=now.secret))
        else:
            text = config.path.read_text()
            config.path.write_text(text.replace('role = "viewer"', 'role = "analyst"'))
        socket.send_text("b")
        with pytest.raises(WebSocketDisconnect) as info:
            socket.receive_text()
    assert info.value.code == 4401
