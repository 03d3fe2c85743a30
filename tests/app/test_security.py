"""The dashboard's gate: every route needs a login, failed logins are limited and logged
without passwords, viewers get no patient-level data, uploads are checked, loopback by default."""

from __future__ import annotations

import inspect
import logging
import os
import stat
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

pytest.importorskip("shiny")
pytest.importorskip("httpx2")

from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect
from typer.testing import CliRunner

from msreboot.app import (
    LOOPBACK,
    PATIENT_DOWNLOADS,
    AppConfig,
    AppUser,
    RateLimiter,
    UploadFolder,
    add_user,
    bind_warning,
    create_app,
    load_app_config,
    safe_upload_name,
)
from msreboot.app._auth import COOKIE, sign_session

ANALYST_PW = "analyst password 1"
VIEWER_PW = "viewer password 12"


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> AppConfig:
    path = tmp_path_factory.mktemp("cfg") / "app.toml"
    add_user(path, "ana", ANALYST_PW, "analyst")
    return add_user(path, "vic", VIEWER_PW, "viewer")


def _client(config: AppConfig, **limits: int) -> TestClient:
    return TestClient(create_app(config=config, limiter=RateLimiter(**limits)))


def _login(client: TestClient, name: str, password: str) -> int:
    r = client.post("/login", data={"username": name, "password": password}, follow_redirects=False)
    return r.status_code


ROUTES = [
    ("GET", "/"),
    ("GET", "/index.html"),
    ("POST", "/"),
    ("GET", "/session/0123abcd/download/patients_csv"),
    ("GET", "/session/0123abcd/download/endpoint_png"),
    ("POST", "/session/0123abcd/upload/job1"),
    ("GET", "/shiny/shiny.js"),
    ("GET", "/lib/bootstrap/bootstrap.min.css"),
    ("GET", "/dataobj/x"),
    ("GET", "/../../etc/passwd"),
]


@pytest.mark.parametrize(("method", "path"), ROUTES, ids=[f"{m} {p}" for m, p in ROUTES])
def test_every_route_refuses_an_unauthenticated_request(
    config: AppConfig, method: str, path: str
) -> None:
    client = _client(config)
    r = client.request(method, path, follow_redirects=False)
    assert r.status_code in (303, 401)
    assert "shiny" not in r.text.lower()
    if r.status_code == 303:
        assert r.headers["location"] == "/login"


def test_a_forged_or_expired_cookie_is_refused(config: AppConfig) -> None:
    client = _client(config)
    ana = config.users["ana"]
    expired = sign_session(config.secret, ana, 1, now=0.0)
    forged = sign_session("00" * 32, ana, 60)
    unknown = sign_session(
        config.secret, AppUser("nobody", "analyst", ana.salt, ana.password_hash), 60
    )
    for value in (expired, forged, unknown, "garbage", expired.split(".")[0] + ".00"):
        client.cookies.set(COOKIE, value)
        assert client.get("/", follow_redirects=False).status_code == 303


def test_the_websocket_refuses_an_unauthenticated_connection(config: AppConfig) -> None:
    client = _client(config)
    with pytest.raises(WebSocketDisconnect) as info, client.websocket_connect("/websocket/"):
        pass
    assert info.value.code == 4401


def test_login_then_logout(config: AppConfig) -> None:
    client = _client(config)
    assert client.get("/login").status_code == 200
    assert _login(client, "ana", ANALYST_PW) == 303
    cookie = client.cookies.get(COOKIE)
    assert cookie
    page = client.get("/")
    assert page.status_code == 200
    assert "Patients" in page.text
    assert page.headers["x-frame-options"] == "DENY"
    r = client.get("/logout", follow_redirects=False)
    assert r.status_code == 303
    assert "Max-Age=0" in r.headers["set-cookie"]
    client.cookies.clear()
    assert client.get("/", follow_redirects=False).status_code == 303


def test_a_wrong_password_fails_and_is_logged_without_the_password(
    config: AppConfig, caplog: pytest.LogCaptureFixture
) -> None:
    client = _client(config)
    with caplog.at_level(logging.WARNING, logger="msreboot.app"):
        assert _login(client, "ana", "not the password") == 401
        assert _login(client, "nobody", "whatever it is") == 401
    assert COOKIE not in client.cookies
    assert "login failed for 'ana'" in caplog.text
    assert "not the password" not in caplog.text
    assert "whatever it is" not in caplog.text


def test_failed_logins_are_rate_limited_per_user(config: AppConfig) -> None:
    client = _client(config, per_user=3, per_client=100)
    for _ in range(3):
        assert _login(client, "ana", "wrong password!") == 401
    assert _login(client, "ana", ANALYST_PW) == 429  # even the right password now
    assert _login(client, "vic", VIEWER_PW) == 303  # another user is not locked out


def test_failed_logins_are_rate_limited_per_client(config: AppConfig) -> None:
    client = _client(config, per_user=100, per_client=4)
    for name in ("a1", "a2", "a3", "a4"):
        assert _login(client, name, "wrong password!") == 401
    assert _login(client, "vic", VIEWER_PW) == 429


def test_the_rate_limit_window_slides() -> None:
    limiter = RateLimiter(per_user=2, per_client=10, window_seconds=60)
    limiter.fail("u", "c", now=0.0)
    limiter.fail("u", "c", now=1.0)
    assert limiter.blocked("u", "c", now=59.0)
    assert not limiter.blocked("u", "c", now=61.0)


@pytest.mark.parametrize("name", sorted(PATIENT_DOWNLOADS))
def test_a_viewer_cannot_download_patient_level_data(config: AppConfig, name: str) -> None:
    viewer = _client(config)
    assert _login(viewer, "vic", VIEWER_PW) == 303
    assert viewer.get(f"/session/abc/download/{name}").status_code == 403
    analyst = _client(config)
    assert _login(analyst, "ana", ANALYST_PW) == 303
    assert analyst.get(f"/session/abc/download/{name}").status_code != 403


def test_a_viewer_sees_no_patient_page_nor_upload(config: AppConfig) -> None:
    viewer = _client(config)
    assert _login(viewer, "vic", VIEWER_PW) == 303
    page = viewer.get("/").text
    assert 'data-value="patients"' not in page
    assert 'data-value="benefit"' not in page
    assert "patients_csv" not in page
    assert 'id="upload"' not in page
    assert viewer.post("/session/abc/upload/j", content=b"x").status_code == 403


def test_an_upload_over_the_limit_is_refused(config: AppConfig) -> None:
    analyst = _client(config)
    assert _login(analyst, "ana", ANALYST_PW) == 303
    size = config.max_upload_mb * 2**20 + 1
    r = analyst.post("/session/abc/upload/j", content=b"", headers={"content-length": str(size)})
    assert r.status_code == 413


@pytest.mark.parametrize(
    "name",
    [
        "../evil.csv",
        "..\\evil.csv",
        "/etc/passwd.csv",
        "sub/patients.csv",
        ".hidden.csv",
        "a..b.csv",
        "patients.csv\x00.txt",
        "patients.exe",
        "",
        "x" * 200 + ".csv",
    ],
    ids=[
        "dotdot",
        "backslash",
        "absolute",
        "folder",
        "hidden",
        "dots",
        "nul",
        "suffix",
        "empty",
        "long",
    ],
)
def test_a_path_traversal_or_odd_upload_name_is_refused(name: str, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="upload name must be"):
        safe_upload_name(name)
    source = tmp_path / "source.csv"
    source.write_text("patient_id\n")
    folder = UploadFolder(tmp_path / "data", 1000)
    with pytest.raises(ValueError, match="upload name must be"):
        folder.save(name, source)
    assert not any((tmp_path / "data").rglob("*.csv"))


def test_uploads_stay_in_the_session_folder_and_are_cleaned_up(tmp_path: Path) -> None:
    source = tmp_path / "source.csv"
    source.write_text("patient_id\nP1\n")
    folder = UploadFolder(tmp_path / "data", 1000)
    saved = folder.save("patients.csv", source)
    assert saved.parent == folder.root
    assert folder.root.is_relative_to((tmp_path / "data").resolve())
    with pytest.raises(ValueError, match="at most 5 bytes"):
        UploadFolder(tmp_path / "data", 5).save("patients.csv", source)
    folder.clean()
    assert not folder.root.exists()


def test_a_new_upload_replaces_the_earlier_files(tmp_path: Path) -> None:
    source = tmp_path / "source.csv"
    source.write_text("patient_id\nP1\n")
    folder = UploadFolder(tmp_path / "data", 1000)
    folder.save("patients.csv", source)
    folder.save("edss.csv", source)
    folder.clear_files()
    folder.save("patients.csv", source)
    assert sorted(p.name for p in folder.root.iterdir()) == ["patients.csv"]
    folder.clean()
    folder.clear_files()  # nothing to clear: no error


def test_the_default_bind_is_loopback(monkeypatch: pytest.MonkeyPatch, config: AppConfig) -> None:
    from msreboot.cli import app as cli
    from msreboot.cli._app_command import serve_command

    assert LOOPBACK == "127.0.0.1"
    assert inspect.signature(serve_command).parameters["host"].default == LOOPBACK
    assert bind_warning(LOOPBACK) is None
    assert "TLS" in (bind_warning("0.0.0.0") or "")
    calls: list[dict[str, object]] = []

    import uvicorn

    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: calls.append(kw))
    runner = CliRunner()
    result = runner.invoke(cli, ["app", "--config", str(config.path)])
    assert result.exit_code == 0, result.output
    assert calls[-1]["host"] == "127.0.0.1"
    assert "TLS" not in result.output
    result = runner.invoke(cli, ["app", "--host", "0.0.0.0", "--config", str(config.path)])
    assert result.exit_code == 0, result.output
    assert calls[-1]["host"] == "0.0.0.0"
    assert "TLS" in result.output


def test_no_user_no_start(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="msreboot app adduser"):
        create_app(config=tmp_path / "missing.toml")
    empty = tmp_path / "empty.toml"
    empty.write_text(f'[server]\nsecret = "{"ab" * 32}"\n')
    with pytest.raises(ValueError, match="at least one user"):
        create_app(config=empty)


def test_the_config_file_is_private_and_holds_no_password(config: AppConfig) -> None:
    mode = stat.S_IMODE(os.stat(config.path).st_mode)
    assert mode == 0o600
    text = config.path.read_text()
    assert ANALYST_PW not in text
    assert VIEWER_PW not in text
    users = load_app_config(config.path).users
    assert users["ana"].check_password(ANALYST_PW)
    assert not users["ana"].check_password(VIEWER_PW)
    assert users["ana"].salt != users["vic"].salt


@pytest.mark.parametrize(
    ("name", "password", "role", "match"),
    [
        ("bad name", "long enough pw", "viewer", "name must be"),
        ("ok", "short", "viewer", "at least 10"),
        ("ok", "long enough pw", "admin", "role must be"),
    ],
    ids=["name", "password", "role"],
)
def test_add_user_checks_its_input(
    tmp_path: Path, name: str, password: str, role: str, match: str
) -> None:
    with pytest.raises(ValueError, match=match):
        add_user(tmp_path / "app.toml", name, password, role)  # type: ignore[arg-type]
    assert not (tmp_path / "app.toml").exists()


def test_adduser_reads_the_password_from_stdin(tmp_path: Path) -> None:
    from msreboot.cli import app as cli

    path = tmp_path / "app.toml"
    runner = CliRunner()
    result = runner.invoke(
        cli,
        ["app", "adduser", "dana", "--role", "analyst", "--config", str(path)],
        input="a long password\n",
    )
    assert result.exit_code == 0, result.output
    assert "a long password" not in result.output
    assert load_app_config(path).users["dana"].check_password("a long password")
    result = runner.invoke(
        cli, ["app", "adduser", "eve", "--role", "root", "--config", str(path)], input="x" * 12
    )
    assert result.exit_code == 2


def test_a_websocket_from_another_origin_is_refused(config: AppConfig) -> None:
    client = _client(config)
    assert _login(client, "ana", ANALYST_PW) == 303
    with (
        pytest.raises(WebSocketDisconnect) as info,
        client.websocket_connect("/websocket/", headers={"origin": "https://evil.example"}),
    ):
        pass
    assert info.value.code == 4403


def test_a_cancelled_trial_run_stops_at_the_next_replicate() -> None:
    from msreboot.app._state import Cancelled, TrialRun

    run = TrialRun(total=5)
    run.progress(1)
    assert run.done == 1
    run.cancel.set()
    with pytest.raises(Cancelled):
        run.progress(2)
    assert run.done == 2


@settings(max_examples=300, deadline=None)
@given(st.text(min_size=0, max_size=40))
def test_an_accepted_upload_name_stays_in_its_folder(name: str) -> None:
    try:
        safe = safe_upload_name(name)
    except ValueError:
        return
    root = Path("/srv/data/uploads/abc")
    assert (root / safe).resolve().parent == root
    assert "/" not in safe
    assert "\\" not in safe
    assert not safe.startswith(".")


@settings(max_examples=50, deadline=None)
@given(
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789_.-", min_size=1, max_size=20),
    st.integers(min_value=1, max_value=10_000),
)
def test_a_signed_session_verifies_until_it_expires(name: str, minutes: int) -> None:
    from msreboot.app._auth import _verify

    secret = "ab" * 32
    user = AppUser(name, "viewer", "00" * 16, "11" * 32)
    value = sign_session(secret, user, minutes, now=1_000_000.0)
    session = _verify(secret, value, now=1_000_000.0)
    assert session is not None
    assert session.name == name
    assert _verify(secret, value, now=1_000_000.0 + 60 * minutes + 1) is None
    assert _verify("cd" * 32, value, now=1_000_000.0) is None
