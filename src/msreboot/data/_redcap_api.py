"""A REDCap project's records and data dictionary, downloaded through its API.

The download writes the same files a user would export by hand (the flat raw-data CSV, and
the data dictionary CSV), so that :func:`~msreboot.data.read_redcap` and
:func:`~msreboot.data.mapping_from_dictionary` read them unchanged and the import stays one
path. The token is read from an environment variable only (never from the command line,
where other users of the machine see it, and never written to a message or a file); the
files hold patient data and are written with owner-only permissions.

Written with the standard library's ``urllib`` (a POST of the form fields the REDCap API
documents: ``token``, ``content``, ``format``, ``type``, ``rawOrLabel``...): no HTTP
library is needed for one request.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from msreboot.data._atomic import atomic_write_bytes
from msreboot.exceptions import RedcapApiError

__all__ = ["REDCAP_TOKEN_ENV", "RedcapDownload", "download_redcap"]

REDCAP_TOKEN_ENV = "REDCAP_API_TOKEN"
"""The environment variable the API token is read from by default."""

_TOKEN = re.compile(r"^(?:[0-9A-Fa-f]{32}|[0-9A-Fa-f]{64})$")  # project and super tokens
_MAX_BYTES = 2 * 1024**3  # a response larger than this is refused, not read into memory


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
        The address, the token variable or the output paths are not usable.
    RedcapApiError
        The server could not be reached or refused the request (its error message is
        given). Nothing is written then: each file is written whole or not at all.
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
    records = _post(
        target,
        token,
        {
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
        },
        timeout,
    )
    meta = None
    if dict_path is not None:
        meta = _post(
            target, token, {"content": "metadata", "format": "csv", "returnFormat": "json"}, timeout
        )
    _write_private(out, records)
    if dict_path is not None and meta is not None:
        _write_private(dict_path, meta)
    text = records.decode("utf-8-sig", errors="replace")
    lines = [line for line in text.splitlines() if line.strip()]
    fields = len(lines[0].split(",")) if lines else 0
    return RedcapDownload(out, dict_path, max(0, len(lines) - 1), fields)


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


def _post(url: str, token: str, fields: dict[str, str], timeout: float) -> bytes:
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
        with urllib.request.urlopen(request, timeout=timeout) as response:
            data: bytes = response.read(_MAX_BYTES + 1)
    except urllib.error.HTTPError as error:
        detail = _server_message(error.read(64 * 1024), token)
        raise RedcapApiError(
            f"the {what} refused the request (HTTP {error.code}): {detail}. Check the token's "
            "project and its API export right."
        ) from None
    except (urllib.error.URLError, TimeoutError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise RedcapApiError(
            f"the {what} could not be reached: {_scrub(str(reason), token)}. Check the address "
            "and the network."
        ) from None
    if len(data) > _MAX_BYTES:
        raise RedcapApiError(f"the {what} sent more than {_MAX_BYTES:,} bytes; export in parts.")
    if data.lstrip().startswith(b"{"):  # an error in JSON with a 200 status
        raise RedcapApiError(f"the {what} answered with an error: {_server_message(data, token)}")
    return data


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


def _write_private(path: Path, data: bytes) -> None:
    """Write ``data`` whole (atomically), readable by its owner only: it is patient data
    (the temporary file is created owner-only; the mode is set again in case ``path`` is a
    link to a file with a wider one)."""
    atomic_write_bytes(path, data)
    os.chmod(path, 0o600)
