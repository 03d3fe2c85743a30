"""A REDCap project's records and data dictionary, downloaded through its API.

The download writes the same files a user would export by hand (the flat raw-data CSV, and
the data dictionary CSV), so that :func:`~msreboot.data.read_redcap` and
:func:`~msreboot.data.mapping_from_dictionary` read them unchanged and the import stays one
path. The token is read from an environment variable only (never from the command line,
where other users of the machine see it, and never written to a message or a file); the
files hold patient data and are written with owner-only permissions.

Written with the standard library's ``urllib`` (a POST of the form fields the REDCap API
documents: ``token``, ``content``, ``format``, ``type``, ``rawOrLabel``...): no HTTP
library is needed for one request. The response is streamed to an owner-only temporary
file beside the target and renamed into place only when it is whole (its length is the one
the server declared) and is CSV; redirects are refused (urllib would repeat the POST as a
GET elsewhere), and a loopback address is reached without any proxy of the environment
(which would see the token in clear text).
"""

from __future__ import annotations

import contextlib
import csv
import http.client
import ipaddress
import json
import os
import re
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from msreboot.data._atomic import fsync_dir, write_target
from msreboot.exceptions import RedcapApiError

__all__ = ["REDCAP_TOKEN_ENV", "RedcapDownload", "download_redcap"]

REDCAP_TOKEN_ENV = "REDCAP_API_TOKEN"
"""The environment variable the API token is read from by default."""

_TOKEN = re.compile(r"^(?:[0-9A-Fa-f]{32}|[0-9A-Fa-f]{64})$")  # project and super tokens
_MAX_BYTES = 2 * 1024**3  # a response larger than this is refused (its download stops there)
_CHUNK = 1024**2


@dataclass(frozen=True)
class RedcapDownload:
    """What :func:`download_redcap` wrote.

    Attributes
    ----------
    export, dictionary
        The records file (flat, raw coded values) and the data dictionary file (or ``None``).
    rows
        Data rows of the export (records plus repeating-instrument instances).
    fields
        Columns of the export.
    """

    export: Path
    dictionary: Path | None
    rows: int
    fields: int

    def summary(self) -> str:
        """One line for the user."""
        extra = f" and the data dictionary to {self.dictionary}" if self.dictionary else ""
        return f"wrote {self.rows} row(s) of {self.fields} field(s) to {self.export}{extra}"


def download_redcap(
    url: str,
    out: str | Path,
    *,
    dictionary: str | Path | None = None,
    token_env: str = REDCAP_TOKEN_ENV,
    timeout: float = 300.0,
) -> RedcapDownload:
    """Download a REDCap project's records (and optionally its data dictionary) to CSV.

    Parameters
    ----------
    url
        The project's API address, e.g. ``https://redcap.example.org/api/``. It must use
        HTTPS; plain HTTP is accepted only for a loopback address (an SSH tunnel, a test
        server), since the token and patient data would otherwise cross the network
        unencrypted.
    out
        The records file to write: the flat export with raw coded values and raw field
        names, as "CSV / Microsoft Excel (raw data)" gives it.
    dictionary
        Also write the data dictionary here (for :func:`msreboot.data.mapping_from_dictionary`).
    token_env
        The environment variable holding the project's API token (32 hexadecimal
        characters; 64 for a super token).
    timeout
        Seconds to wait for each response.

    Returns
    -------
    RedcapDownload

    Raises
    ------
    ValueError
        The address, the token variable or the output paths are not usable (a folder in
        the way, a folder that cannot be written).
    RedcapApiError
        The server could not be reached, refused the request (its error message is
        given), redirected it, sent a web page instead of CSV, or broke off or cut short
        its answer. Nothing is written then: both files are downloaded into temporary
        files first and renamed into place only when both are whole.
    """
    target = _checked_url(url)
    token = os.environ.get(token_env, "").strip()
    if not token:
        raise ValueError(
            f"the REDCap API token must be in the environment variable {token_env}; it is "
            f"not set. Set it (e.g. read -s {token_env} && export {token_env}) rather than "
            "giving the token on the command line."
        )
    if not _TOKEN.match(token):
        raise ValueError(
            f"the REDCap API token in {token_env} must be 32 (or 64) hexadecimal characters; "
            f"got {len(token)} character(s) that are not. Copy the token from the project's "
            "API page."
        )
    out = Path(out)
    dict_path = None if dictionary is None else Path(dictionary)
    if dict_path is not None and dict_path.resolve() == out.resolve():
        raise ValueError(f"dictionary must be another file than out; got {out} for both.")
    staged: list[tuple[Path, Path]] = []  # (temporary file, target), renamed at the end
    try:
        _stage(staged, out, target, token, _RECORD_FIELDS, timeout)
        if dict_path is not None:
            meta = {"content": "metadata", "format": "csv", "returnFormat": "json"}
            _stage(staged, dict_path, target, token, meta, timeout)
        rows, fields = _count(staged[0][0])
        for tmp, final in staged:
            try:
                os.replace(tmp, final)
            except OSError as error:
                raise ValueError(f"{final} cannot be written: {error.strerror or error}.") from None
            fsync_dir(final.parent)
    finally:
        for tmp, _ in staged:
            with contextlib.suppress(OSError):
                tmp.unlink()
    return RedcapDownload(out, dict_path, rows, fields)


_RECORD_FIELDS = {
    "content": "record",
    "action": "export",
    "format": "csv",
    "type": "flat",
    "csvDelimiter": "",
    "rawOrLabel": "raw",
    "rawOrLabelHeaders": "raw",
    "exportCheckboxLabel": "false",
    "exportSurveyFields": "false",
    "exportDataAccessGroups": "false",
    "returnFormat": "json",
}


def _stage(
    staged: list[tuple[Path, Path]],
    path: Path,
    url: str,
    token: str,
    fields: dict[str, str],
    timeout: float,
) -> None:
    """Download one export into an owner-only temporary file beside ``path``."""
    final = write_target(path)
    if final.is_dir():
        raise ValueError(f"{path} must be a file to write; it is a folder.")
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=f".{final.name}.", suffix=".part", dir=final.parent)
    except OSError as error:
        raise ValueError(f"{path} cannot be written: {error.strerror or error}.") from None
    tmp = Path(name)
    staged.append((tmp, final))
    try:
        with os.fdopen(fd, "wb") as sink:  # mkstemp creates it readable by its owner only
            _post(url, token, fields, timeout, sink)
            sink.flush()
            os.fsync(sink.fileno())
    except RedcapApiError:
        raise
    except (_SinkError, OSError) as error:  # the file, not the network (that is RedcapApiError)
        raise ValueError(f"{path} cannot be written: {error}.") from None


def _count(path: Path) -> tuple[int, int]:
    """Data rows and columns of a CSV export (records spanning lines count once)."""
    with path.open(encoding="utf-8-sig", errors="replace", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader, [])
        rows = sum(1 for row in reader if any(cell.strip() for cell in row))
    return rows, len(header)


def _checked_url(url: str) -> str:
    parts = urllib.parse.urlsplit(url.strip())
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ValueError(
            f"url must be the REDCap API address, https://.../api/; got {url!r}. Find it on "
            "the project's API page."
        )
    if parts.scheme == "http" and not _loopback(parts.hostname):
        raise ValueError(
            f"url must use https; got {url!r}. Plain http would send the token and patient "
            "data unencrypted; it is accepted only for a loopback address (an SSH tunnel)."
        )
    if parts.username or parts.password:
        raise ValueError("url must not hold a user name or password; the token is the login.")
    return urllib.parse.urlunsplit(parts)


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class _SinkError(Exception):
    """Writing the downloaded bytes failed (kept apart from the network's OSErrors)."""

    def __init__(self, error: OSError) -> None:
        super().__init__(error.strerror or str(error))


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Redirects are refused: urllib would repeat the POST as a GET at another address."""

    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def _opener(url: str) -> urllib.request.OpenerDirector:
    handlers: list[urllib.request.BaseHandler] = [_NoRedirect()]
    host = urllib.parse.urlsplit(url).hostname or ""
    if _loopback(host):  # an environment proxy would see the token over plain http
        handlers.append(urllib.request.ProxyHandler({}))
    return urllib.request.build_opener(*handlers)


def _post(url: str, token: str, fields: dict[str, str], timeout: float, sink: IO[bytes]) -> None:
    """POST ``fields`` with the token and stream the answer into ``sink``, or raise
    :class:`RedcapApiError` (a refusal, a redirect, an unreachable server, a body shorter
    than declared or cut off, an answer larger than the limit, a JSON error or an HTML page
    where CSV was asked for)."""
    body = urllib.parse.urlencode({"token": token, **fields}).encode("ascii")
    # the scheme was checked by _checked_url: https, or http to a loopback address
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={"Content-Type": "application/x-www-form-urlencoded", "Accept": "text/csv"},
    )
    what = f"REDCap API at {url} ({fields['content']} export)"
    try:
        with _opener(url).open(request, timeout=timeout) as response:
            declared = response.headers.get("Content-Length")
            kind = (response.headers.get("Content-Type") or "").lower()
            if not (declared is not None and declared.isascii() and declared.isdigit()):
                declared = None
            if declared is not None and int(declared) > _MAX_BYTES:
                raise RedcapApiError(
                    f"the {what} would send {int(declared):,} bytes, more than "
                    f"{_MAX_BYTES:,}; export in parts."
                )
            first = response.read(_CHUNK)
            if "html" in kind or first.lstrip()[:1] == b"<":
                raise RedcapApiError(
                    f"the {what} answered with a web page, not CSV (a login page or a proxy's "
                    "message?). Check the address: it is the project's API URL, ending in /api/."
                )
            if first.lstrip().startswith(b"{"):  # an error in JSON with a 200 status
                raise RedcapApiError(
                    f"the {what} answered with an error: {_server_message(first, token)}"
                )
            received = 0
            chunk = first
            while chunk:
                received += len(chunk)
                if received > _MAX_BYTES:
                    raise RedcapApiError(
                        f"the {what} sent more than {_MAX_BYTES:,} bytes; export in parts."
                    )
                try:
                    sink.write(chunk)
                except OSError as error:
                    raise _SinkError(error) from None
                chunk = response.read(_CHUNK)
            if declared is not None and received != int(declared):
                raise RedcapApiError(
                    f"the {what} sent {received:,} of the {int(declared):,} bytes it declared: "
                    "the download was cut off. Nothing was written; try again."
                )
    except RedcapApiError:  # raised above (an OSError too): not a network failure
        raise
    except urllib.error.HTTPError as error:
        if 300 <= error.code < 400:
            raise RedcapApiError(
                f"the {what} redirected the request (HTTP {error.code}) to "
                f"{_scrub(str(error.headers.get('Location')), token)}; give that address "
                "if it is the API's."
            ) from None
        detail = _server_message(error.read(64 * 1024), token)
        raise RedcapApiError(
            f"the {what} refused the request (HTTP {error.code}): {detail}. Check the token's "
            "project and its API export right."
        ) from None
    except http.client.HTTPException as error:  # e.g. IncompleteRead of a chunked answer
        raise RedcapApiError(
            f"the {what} broke off the answer ({type(error).__name__}). Nothing was "
            "written; try again."
        ) from None
    except (urllib.error.URLError, TimeoutError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise RedcapApiError(
            f"the {what} could not be reached: {_scrub(str(reason), token)}. Check the address "
            "and the network."
        ) from None


def _server_message(raw: bytes, token: str) -> str:
    text = raw.decode("utf-8", errors="replace").strip()
    try:
        parsed = json.loads(text)
    except ValueError:
        parsed = None
    if isinstance(parsed, dict) and "error" in parsed:
        text = str(parsed["error"])
    return _scrub(text[:300] or "no message", token)


def _scrub(text: str, token: str) -> str:
    """``text`` without the token, should a server or a library ever echo it."""
    return text.replace(token, "[token]") if token else text
