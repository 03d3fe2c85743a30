"""Downloading a REDCap project through its API, against a small REDCap-like server on the
loopback interface: the files are what a hand export gives and read as one; the token is
read from the environment only and never appears in a message; refusals, unreachable
servers and unsafe addresses are clear errors that write nothing."""

from __future__ import annotations

import stat
import threading
import urllib.parse
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from typer.testing import CliRunner

from msreboot.cli import app
from msreboot.data import download_redcap, read_redcap
from msreboot.exceptions import RedcapApiError

TOKEN = "0123456789ABCDEF0123456789ABCDEF"
EXPORT = (
    "record_id,redcap_repeat_instrument,redcap_repeat_instance,sex,edss_date,edss_score\n"
    "1,,,2,,\n1,edss_assessment,1,,2020-01-10,3.5\n2,,,1,,\n"
)
DICTIONARY = (
    '"Variable / Field Name","Form Name","Section Header","Field Type","Field Label"\n'
    "record_id,demographics,,text,Record ID\n"
)
MAPPING = """
id_field = "record_id"
[tables.patients.columns]
sex = "sex"
[tables.patients.values.sex]
"1" = "F"
"2" = "M"
[tables.edss]
instrument = "edss_assessment"
columns = { date = "edss_date", edss = "edss_score" }
"""


class _Api(BaseHTTPRequestHandler):
    """Answers as the REDCap API does: CSV for a known token, JSON errors otherwise."""

    seen: list[dict[str, str]] = []  # noqa: RUF012 (the requests received, for the tests)
    mode = "normal"  # how the next answers go wrong (set by a test)

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        form = dict(urllib.parse.parse_qsl(self.rfile.read(length).decode("ascii")))
        self.seen.append(form)
        if self.mode == "truncated":  # declares more than it sends, then closes
            body = EXPORT.encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body) + 100))
            self.end_headers()
            self.wfile.write(body)
            self.close_connection = True
        elif self.mode == "chunked_cut":  # a chunked answer broken off mid-way
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self.wfile.write(b"20\r\nrecord_id,sex\n1,2\n")
            self.close_connection = True
        elif self.mode == "html":
            self._send(200, b"<!DOCTYPE html><html><body>Please log in</body></html>", "text/html")
        elif self.mode == "redirect":
            self.send_response(302)
            self.send_header("Location", "https://elsewhere.example.org/login")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif self.mode == "multiline":  # a notes field spanning two lines counts once
            self._send(200, b'record_id,notes\n1,"first line\nsecond line"\n2,short\n')
        elif form.get("token") != TOKEN:
            self._send(403, b'{"error":"You do not have permissions to use the API"}')
        elif form.get("content") == "record" and form.get("type") == "flat":
            self._send(200, EXPORT.encode())
        elif form.get("content") == "metadata":
            self._send(200, DICTIONARY.encode())
        else:
            self._send(400, b'{"error":"The value of the parameter \\"content\\" is not valid"}')

    def _send(self, code: int, body: bytes, kind: str = "text/csv; charset=utf-8") -> None:
        self.send_response(code)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def api() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Api)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Api.seen.clear()
    _Api.mode = "normal"
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/api/"
    finally:
        server.shutdown()
        server.server_close()


def test_the_download_is_the_hand_export_and_reads_as_one(
    api: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REDCAP_API_TOKEN", TOKEN)
    out, dictionary = tmp_path / "export.csv", tmp_path / "dictionary.csv"
    result = download_redcap(api, out, dictionary=dictionary)
    assert out.read_text() == EXPORT
    assert dictionary.read_text() == DICTIONARY
    assert (result.rows, result.fields) == (3, 6)
    assert stat.S_IMODE(out.stat().st_mode) == 0o600  # patient data: owner only
    assert stat.S_IMODE(dictionary.stat().st_mode) == 0o600
    record = _Api.seen[0]
    assert (record["content"], record["format"], record["type"], record["rawOrLabel"]) == (
        "record",
        "csv",
        "flat",
        "raw",
    )
    (tmp_path / "mapping.toml").write_text(MAPPING)
    tables, problems = read_redcap(out, tmp_path / "mapping.toml")
    assert problems == []
    assert tables["edss"]["edss"].tolist() == ["3.5"]


def test_a_refusal_names_the_server_message_never_the_token(
    api: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wrong = "F" * 32
    monkeypatch.setenv("REDCAP_API_TOKEN", wrong)
    with pytest.raises(RedcapApiError, match=r"HTTP 403.*permissions to use the API") as caught:
        download_redcap(api, tmp_path / "export.csv")
    assert wrong not in str(caught.value)
    assert not (tmp_path / "export.csv").exists()  # nothing half-written


def test_the_token_comes_from_the_environment_in_its_format(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MY_TOKEN", raising=False)
    with pytest.raises(ValueError, match="environment variable MY_TOKEN; it is not set"):
        download_redcap("https://redcap.example.org/api/", tmp_path / "x.csv", token_env="MY_TOKEN")
    monkeypatch.setenv("MY_TOKEN", "not-a-token")
    with pytest.raises(ValueError, match="32 \\(or 64\\) hexadecimal") as caught:
        download_redcap("https://redcap.example.org/api/", tmp_path / "x.csv", token_env="MY_TOKEN")
    assert "not-a-token" not in str(caught.value)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://redcap.example.org/api/", "must use https"),
        ("ftp://redcap.example.org/api/", "REDCap API address"),
        ("redcap.example.org/api", "REDCap API address"),
        ("https://user:pw@redcap.example.org/api/", "user name or password"),
    ],
)
def test_unsafe_or_malformed_addresses_are_refused(
    url: str, message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REDCAP_API_TOKEN", TOKEN)
    with pytest.raises(ValueError, match=message):
        download_redcap(url, tmp_path / "x.csv")


def test_an_unreachable_server_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REDCAP_API_TOKEN", TOKEN)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Api)
    port = server.server_address[1]
    server.server_close()  # nothing listens on the port any more
    with pytest.raises(RedcapApiError, match="could not be reached"):
        download_redcap(f"http://127.0.0.1:{port}/api/", tmp_path / "x.csv", timeout=5)
    assert not (tmp_path / "x.csv").exists()


@pytest.mark.parametrize(
    ("mode", "message"),
    [
        ("truncated", r"sent 135 of the 235 bytes it declared: the download was cut off"),
        ("chunked_cut", "broke off the answer"),
        ("html", "answered with a web page, not CSV"),
        ("redirect", "redirected the request \\(HTTP 302\\) to https://elsewhere"),
    ],
)
def test_a_broken_answer_writes_nothing(
    api: str, mode: str, message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REDCAP_API_TOKEN", TOKEN)
    _Api.mode = mode
    out, dictionary = tmp_path / "export.csv", tmp_path / "dictionary.csv"
    with pytest.raises(RedcapApiError, match=message):
        download_redcap(api, out, dictionary=dictionary, timeout=10)
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # no file, no temporary file


def test_rows_are_records_not_lines(
    api: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REDCAP_API_TOKEN", TOKEN)
    _Api.mode = "multiline"
    result = download_redcap(api, tmp_path / "export.csv")
    assert (result.rows, result.fields) == (2, 2)


def test_a_loopback_address_is_reached_without_the_environment_proxy(
    api: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REDCAP_API_TOKEN", TOKEN)
    for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")  # nothing listens: a proxy would fail
    for name in ("no_proxy", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
    result = download_redcap(api, tmp_path / "export.csv", timeout=10)
    assert result.rows == 3


def test_an_unwritable_target_is_a_usage_error(
    api: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REDCAP_API_TOKEN", TOKEN)
    (tmp_path / "folder.csv").mkdir()
    with pytest.raises(ValueError, match="must be a file to write; it is a folder"):
        download_redcap(api, tmp_path / "folder.csv")
    result = CliRunner().invoke(
        app, ["redcap-fetch", api, "--out", str(tmp_path / "folder.csv"), "--force"]
    )
    assert result.exit_code == 2
    assert "Traceback" not in result.output


def test_the_command_downloads_and_says_what_it_wrote(
    api: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REDCAP_API_TOKEN", TOKEN)
    out = tmp_path / "export.csv"
    result = CliRunner().invoke(app, ["redcap-fetch", api, "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "wrote 3 row(s) of 6 field(s)" in result.output
    assert out.read_text() == EXPORT
    again = CliRunner().invoke(app, ["redcap-fetch", api, "--out", str(out)])
    assert again.exit_code == 2
    assert "--force" in again.output
    monkeypatch.setenv("REDCAP_API_TOKEN", "E" * 32)
    refused = CliRunner().invoke(app, ["redcap-fetch", api, "--out", str(tmp_path / "b.csv")])
    assert refused.exit_code == 1
    assert "E" * 32 not in refused.output
