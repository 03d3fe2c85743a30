"""A Shiny session driven over the dashboard's websocket without a browser: log in, send
the inputs a page would send, read the outputs the server renders (the server functions
tested as they run, behind the login gate)."""

from __future__ import annotations

import concurrent.futures
import json
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from starlette.testclient import TestClient

__all__ = ["BUTTONS", "ShinySession", "shiny_session"]

#: The dashboard's action buttons: sent typed, as the browser sends them (a press is the
#: count going up; 0 is never pressed).
BUTTONS = frozenset(
    {
        "open",
        "run_trial",
        "cancel_trial",
        "run_power",
        "cancel_power",
        "project",
        "cancel_projection",
        "import_store",
    }
)


def _typed(inputs: Mapping[str, Any]) -> dict[str, Any]:
    return {(f"{k}:shiny.action" if k in BUTTONS else k): v for k, v in inputs.items()}


class ShinySession:
    """One browser session's inputs and outputs (the last value of each output)."""

    def __init__(self, client: TestClient, ws: Any, session_id: str) -> None:
        self.client = client
        self.ws = ws
        self.session_id = session_id
        self.values: dict[str, Any] = {}
        self.errors: dict[str, Any] = {}
        self.messages: list[dict[str, Any]] = []
        self._pool = concurrent.futures.ThreadPoolExecutor(1)
        self.responses: dict[int, dict[str, Any]] = {}
        self._tag = 0

    def _request(self, method: str, *args: Any) -> Any:
        self._tag += 1
        tag = self._tag
        self.ws.send_text(json.dumps({"method": method, "args": list(args), "tag": tag}))
        self.until(lambda s: tag in s.responses, 30)
        return self.responses[tag].get("value")

    def upload(self, input_id: str, files: list[Path]) -> None:
        """Upload files into a file input as the browser does (init, one POST per file
        through the gate, end)."""
        infos = [{"name": f.name, "size": f.stat().st_size, "type": ""} for f in files]
        job = self._request("uploadInit", infos)
        for f in files:
            r = self.client.post("/" + job["uploadUrl"], content=f.read_bytes())
            assert r.status_code == 200, r.text
        self._request("uploadEnd", job["jobId"], input_id)

    def update(self, **inputs: Any) -> None:
        """Change inputs (a button press is its count going up)."""
        self.ws.send_text(json.dumps({"method": "update", "data": _typed(inputs)}))

    def _read(self, timeout: float) -> None:
        try:
            text = self._pool.submit(self.ws.receive_text).result(timeout=max(timeout, 0.1))
        except concurrent.futures.TimeoutError:
            raise TimeoutError(
                f"no message from the server in time; outputs: {self.values}, errors: {self.errors}"
            ) from None
        message = json.loads(text)
        if "response" in message:
            self.responses[message["response"]["tag"]] = message["response"]
        self.messages.append(message)
        self.values.update(message.get("values") or {})
        self.errors.update(message.get("errors") or {})

    def until(self, ready: Callable[[ShinySession], bool], timeout: float = 120.0) -> ShinySession:
        """Read messages until ``ready(self)`` (a bounded wait)."""
        deadline = time.monotonic() + timeout
        while not ready(self):
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"the page did not get ready; outputs: {self.values}")
            self._read(left)
        return self

    def text(self, output: str) -> str:
        """A text or code output's value (``""`` before it renders)."""
        value = self.values.get(output)
        return value if isinstance(value, str) else ""

    def html(self, output: str) -> str:
        """A ui output's HTML."""
        value = self.values.get(output) or {}
        return str(value.get("html", "")) if isinstance(value, dict) else ""

    def rows(self, output: str) -> list[dict[str, Any]]:
        """A data-frame output's rows as records."""
        value = self.values.get(output) or {}
        payload = value.get("payload", value) if isinstance(value, dict) else {}
        data = payload.get("data", []) if isinstance(payload, dict) else []
        names = [
            c.get("title", c) if isinstance(c, dict) else c for c in payload.get("columns", [])
        ]
        return [dict(zip(names, row, strict=False)) for row in data]

    def download(self, output: str) -> Any:
        """A download button's response (through the gate, as the browser fetches it)."""
        return self.client.get(f"/session/{self.session_id}/download/{output}?w=")


@contextmanager
def shiny_session(
    client: TestClient,
    user: tuple[str, str],
    inputs: Mapping[str, Any],
    outputs: list[str],
) -> Iterator[ShinySession]:
    """Log ``user`` (name, password) in and open one session with ``inputs`` and the
    ``outputs`` shown."""
    name, password = user
    r = client.post("/login", data={"username": name, "password": password}, follow_redirects=False)
    assert r.status_code == 303
    data = _typed(inputs)
    for o in outputs:  # shown, and sized as a plot would be
        data.update(
            {
                f".clientdata_output_{o}_hidden": False,
                f".clientdata_output_{o}_width": 700,
                f".clientdata_output_{o}_height": 480,
            }
        )
    data[".clientdata_pixelratio"] = 1
    with client.websocket_connect("/websocket/", headers={"origin": "http://testserver"}) as ws:
        ws.send_text(json.dumps({"method": "init", "data": data}))
        first = json.loads(ws.receive_text())
        session = ShinySession(client, ws, first["config"]["sessionId"])
        yield session
